/*  supervisor.c - child services with restart on crash and an orderly stop. */
#include "supervisor.h"
#include "zf_common.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_SERVICES     80 //  zflow up: up to 64 executors and five others
#define S_MAX_ARGS         32
#define S_BACKOFF_FIRST_MS 250   //  first restart delay
#define S_BACKOFF_CAP_MS   10000 //  longest restart delay
#define S_STABLE_MS        30000 //  a run this long resets the backoff

//  One supervised service.
typedef struct {
    char *name;                 //  shown in messages
    char *argv[S_MAX_ARGS + 1]; //  argv[0] is the full program path
    pid_t pid;                  //  running child, or 0
    int64_t started;            //  ms (monotonic) it last started
    int64_t restart_at;         //  ms (monotonic) of a pending restart, or 0
    int64_t backoff;            //  next restart delay, ms
    uint32_t restarts;          //  restarts so far
} s_service_t;

struct _zf_supervisor_t {
    char *bindir;                         //  where programs live
    s_service_t services[S_MAX_SERVICES]; //  in start order
    uint32_t count;                       //  services in use
    int sigfd;                            //  signalfd for SIGCHLD
    int stopping;                         //  1 once stop began: no more restarts
};

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

zf_supervisor_t *
zf_supervisor_new (const char *bindir)
{
    zf_supervisor_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->bindir = strdup (bindir);
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGCHLD);
    pthread_sigmask (SIG_BLOCK, &mask, NULL);
    self->sigfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0 || !self->bindir) {
        zf_log_error ("cannot watch child processes reason=%s", strerror (errno));
        zf_supervisor_destroy (&self);
    }
    return self;
}

void
zf_supervisor_destroy (zf_supervisor_t **self_p)
{
    assert (self_p);
    zf_supervisor_t *self = *self_p;
    if (!self) return;
    zf_supervisor_stop (self, 2000);
    for (uint32_t i = 0; i < self->count; i++) {
        free (self->services[i].name);
        for (int a = 0; self->services[i].argv[a]; a++)
            free (self->services[i].argv[a]);
    }
    if (self->sigfd >= 0) close (self->sigfd);
    free (self->bindir);
    free (self);
    *self_p = NULL;
}

int
zf_supervisor_add_argv (zf_supervisor_t *self, const char *name, char *const *argv)
{
    assert (self && name && argv && argv[0]);
    if (self->count == S_MAX_SERVICES) return -1;
    s_service_t *service = &self->services[self->count];
    memset (service, 0, sizeof *service);
    service->name = strdup (name);
    size_t size = strlen (self->bindir) + strlen (argv[0]) + 2;
    service->argv[0] = malloc (size);
    snprintf (service->argv[0], size, "%s/%s", self->bindir, argv[0]);
    for (int n = 1; argv[n]; n++) {
        if (n == S_MAX_ARGS) {
            zf_log_error ("too many arguments service=%s", name);
            return -1;
        }
        service->argv[n] = strdup (argv[n]);
    }
    service->backoff = S_BACKOFF_FIRST_MS;
    self->count++;
    return 0;
}

int
zf_supervisor_add (zf_supervisor_t *self, const char *name, const char *program, ...)
{
    assert (program);
    char *argv[S_MAX_ARGS + 1] = {(char *)program};
    va_list args;
    va_start (args, program);
    int n = 1;
    for (char *arg = va_arg (args, char *); arg; arg = va_arg (args, char *)) {
        if (n == S_MAX_ARGS) {
            va_end (args);
            zf_log_error ("too many arguments service=%s", name);
            return -1;
        }
        argv[n++] = arg;
    }
    va_end (args);
    argv[n] = NULL;
    return zf_supervisor_add_argv (self, name, argv);
}

//  Forks and execs one service. The child unblocks signals, asks to die with
//  its parent, and checks the parent did not die before that request.
static int
s_spawn (s_service_t *service)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        zf_log_error ("cannot start service=%s reason=%s", service->name, strerror (errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent) _exit (1);
        execv (service->argv[0], service->argv);
        fprintf (stderr, "zflow: cannot run %s: %s\n", service->argv[0], strerror (errno));
        _exit (127);
    }
    service->pid = pid;
    service->started = s_now_ms ();
    service->restart_at = 0;
    return 0;
}

int
zf_supervisor_start (zf_supervisor_t *self)
{
    assert (self);
    for (uint32_t i = 0; i < self->count; i++)
        if (access (self->services[i].argv[0], X_OK) != 0) {
            zf_log_error ("program not found path=%s", self->services[i].argv[0]);
            return -1;
        }
    for (uint32_t i = 0; i < self->count; i++)
        if (self->services[i].pid == 0 && s_spawn (&self->services[i]) != 0) return -1;
    return 0;
}

int
zf_supervisor_fd (zf_supervisor_t *self)
{
    assert (self);
    return self->sigfd;
}

//  Finds the service of a pid, or NULL.
static s_service_t *
s_service_of (zf_supervisor_t *self, pid_t pid)
{
    for (uint32_t i = 0; i < self->count; i++)
        if (self->services[i].pid == pid) return &self->services[i];
    return NULL;
}

int
zf_supervisor_reap (zf_supervisor_t *self)
{
    assert (self);
    struct signalfd_siginfo info;
    while (read (self->sigfd, &info, sizeof info) == sizeof info)
        ; //  SIGCHLD coalesces: the count is found by waitpid below
    int reaped = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
        s_service_t *service = s_service_of (self, pid);
        if (!service) continue;
        reaped++;
        service->pid = 0;
        if (self->stopping) continue;
        int64_t now = s_now_ms ();
        if (now - service->started >= S_STABLE_MS) service->backoff = S_BACKOFF_FIRST_MS;
        service->restart_at = now + service->backoff;
        if (WIFSIGNALED (status))
            zf_log_error ("service died service=%s signal=%d restart_in_ms=%lld", service->name,
                          WTERMSIG (status), (long long)service->backoff);
        else
            zf_log_error ("service exited service=%s status=%d restart_in_ms=%lld", service->name,
                          WEXITSTATUS (status), (long long)service->backoff);
        service->backoff *= 2;
        if (service->backoff > S_BACKOFF_CAP_MS) service->backoff = S_BACKOFF_CAP_MS;
    }
    return reaped;
}

int64_t
zf_supervisor_next_ms (zf_supervisor_t *self)
{
    assert (self);
    int64_t next = -1, now = s_now_ms ();
    for (uint32_t i = 0; i < self->count; i++) {
        s_service_t *service = &self->services[i];
        if (service->pid == 0 && service->restart_at) {
            int64_t wait = service->restart_at > now ? service->restart_at - now : 0;
            if (next < 0 || wait < next) next = wait;
        }
    }
    return next;
}

void
zf_supervisor_restart_due (zf_supervisor_t *self)
{
    assert (self);
    if (self->stopping) return;
    int64_t now = s_now_ms ();
    for (uint32_t i = 0; i < self->count; i++) {
        s_service_t *service = &self->services[i];
        if (service->pid == 0 && service->restart_at && service->restart_at <= now) {
            if (s_spawn (service) == 0) {
                service->restarts++;
                zf_log_warn ("service restarted service=%s pid=%d restarts=%u", service->name,
                             (int)service->pid, service->restarts);
            } else
                service->restart_at = now + service->backoff;
        }
    }
}

//  Number of services still running.
static uint32_t
s_running (zf_supervisor_t *self)
{
    uint32_t running = 0;
    for (uint32_t i = 0; i < self->count; i++)
        running += self->services[i].pid != 0;
    return running;
}

void
zf_supervisor_stop (zf_supervisor_t *self, int grace_ms)
{
    assert (self);
    self->stopping = 1;
    for (uint32_t i = 0; i < self->count; i++)
        self->services[i].restart_at = 0;
    //  Stop in reverse start order, so producers of work go after consumers.
    for (uint32_t i = self->count; i-- > 0;)
        if (self->services[i].pid) kill (self->services[i].pid, SIGTERM);
    int64_t deadline = s_now_ms () + grace_ms;
    zf_supervisor_reap (self);
    while (s_running (self) && s_now_ms () < deadline) {
        struct pollfd item = {self->sigfd, POLLIN, 0};
        poll (&item, 1, (int)(deadline - s_now_ms ()));
        zf_supervisor_reap (self);
    }
    for (uint32_t i = 0; i < self->count; i++)
        if (self->services[i].pid) {
            zf_log_warn ("service did not stop, killing service=%s", self->services[i].name);
            kill (self->services[i].pid, SIGKILL);
            waitpid (self->services[i].pid, NULL, 0);
            self->services[i].pid = 0;
        }
}

pid_t
zf_supervisor_pid (zf_supervisor_t *self, const char *name)
{
    assert (self);
    for (uint32_t i = 0; i < self->count; i++)
        if (strcmp (self->services[i].name, name) == 0) return self->services[i].pid;
    return 0;
}

uint32_t
zf_supervisor_restarts (zf_supervisor_t *self, const char *name)
{
    assert (self);
    for (uint32_t i = 0; i < self->count; i++)
        if (strcmp (self->services[i].name, name) == 0) return self->services[i].restarts;
    return 0;
}
