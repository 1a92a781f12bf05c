/*  stack.c - starting and stopping a real zflow for the gateway's tests. */
#include "stack.h"
#include "procs.h"
#include "zf_common.h"
#include "zf_evsub.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

//  Bound of every wait for a process to be ready.
#define S_READY_MS 30000

//  Starts the registry on the stack's endpoints.
static pid_t
s_spawn_registry (gw_stack_t *self)
{
    return zf_proc_spawn ("zflow-registry", "--bind", self->registry, "--events",
                          self->registry_events, "--dispatcher", self->dispatcher, "--dir",
                          self->dir, NULL);
}

//  Waits up to timeout_ms until the registry answers a PING. Returns 0 or -1.
static int
s_await_registry (gw_stack_t *self, int timeout_ms)
{
    //  The request waits in ZeroMQ until the registry has bound: a handshake.
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    if (zf_regclient_call (self->client, &req, &reply, timeout_ms) != 0 ||
        reply.type != ZF_BODY_OK) {
        fprintf (stderr, "stack: the registry did not answer: %s\n",
                 zf_regclient_error (self->client));
        return -1;
    }
    return 0;
}

//  Picks free ports for the dispatcher and the registry, whose events go
//  on its request port + 1 (free ports are released until the programs
//  bind them, so the kernel may hand one out twice: they must differ).
static void
s_pick_ports (gw_stack_t *self)
{
    int dispatcher = zf_proc_free_port (), events = zf_proc_free_port ();
    int registry = zf_proc_free_port ();
    for (int tries = 0; tries < 100; tries++) {
        bool clash = events == dispatcher || registry == dispatcher || registry == events ||
                     registry + 1 == dispatcher || registry + 1 == events;
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", registry + 1);
        zsock_t *probe = clash || registry >= 65535 ? NULL : zsock_new (ZMQ_PUB);
        bool free_port = probe && zsock_bind (probe, "%s", endpoint) >= 0;
        zsock_destroy (&probe);
        if (free_port) break;
        if (events == dispatcher) events = zf_proc_free_port ();
        registry = zf_proc_free_port ();
    }
    snprintf (self->dispatcher, sizeof self->dispatcher, "tcp://127.0.0.1:%d", dispatcher);
    snprintf (self->dispatcher_events, sizeof self->dispatcher_events, "tcp://127.0.0.1:%d",
              events);
    snprintf (self->registry, sizeof self->registry, "tcp://127.0.0.1:%d", registry);
    snprintf (self->registry_events, sizeof self->registry_events, "tcp://127.0.0.1:%d",
              registry + 1);
}

//  Starts the dispatcher and the registry and waits until both are bound:
//  the registry answers a PING, and a subscription to the dispatcher's
//  events connects (it binds that PUB after its ROUTER). Returns 0 or -1.
static int
s_start_core (gw_stack_t *self, int timeout_ms)
{
    self->dispatcher_pid = zf_proc_spawn ("zflow-dispatcher", "--bind", self->dispatcher,
                                          "--events", self->dispatcher_events, NULL);
    self->registry_pid = s_spawn_registry (self);
    self->client = zf_regclient_new (self->registry);
    if (self->dispatcher_pid <= 0 || self->registry_pid <= 0 || !self->client) return -1;
    zf_evsub_t *events = zf_evsub_new (self->dispatcher_events);
    bool bound = events && zf_evsub_wait_connected (events, timeout_ms);
    zf_evsub_destroy (&events);
    return bound ? s_await_registry (self, timeout_ms) : -1;
}

int
stack_start (gw_stack_t *self, int executors, int slots)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/zf-gwtest-XXXXXX");
    if (!mkdtemp (self->dir)) return -1;
    //  Outgoing connections take their ports from the same range as free
    //  ports: the dispatcher and the registry are bound before anything
    //  connects, and a port taken by another program in the meantime means
    //  new ports and another attempt.
    int rc = -1;
    for (int attempt = 0; attempt < 5 && rc != 0; attempt++) {
        s_pick_ports (self);
        rc = s_start_core (self, attempt < 4 ? 5000 : S_READY_MS);
        if (rc != 0) {
            zf_proc_stop (self->registry_pid, 5000);
            zf_proc_stop (self->dispatcher_pid, 5000);
            zf_regclient_destroy (&self->client);
        }
    }
    if (rc != 0) return -1;
    char logs[PATH_MAX + 8], slot_text[16];
    snprintf (logs, sizeof logs, "%s/logs", self->dir);
    snprintf (slot_text, sizeof slot_text, "%d", slots);
    for (int i = 0; i < executors && i < STACK_MAX_EXECUTORS; i++) {
        char name[32];
        snprintf (name, sizeof name, "ex%d", i + 1);
        self->executors[self->executor_count++] =
            zf_proc_spawn ("zflow-executor", "--dispatcher", self->dispatcher, "--name", name,
                           "--log-dir", logs, "--slots", slot_text, NULL);
    }
    return 0;
}

int
stack_attach (gw_stack_t *self, const char *registry)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/zf-gwtest-XXXXXX");
    if (!mkdtemp (self->dir)) return -1;
    snprintf (self->registry, sizeof self->registry, "%s", registry);
    snprintf (self->dispatcher_events, sizeof self->dispatcher_events, "tcp://127.0.0.1:%d",
              zf_proc_free_port ());
    return 0;
}

int
stack_restart_registry (gw_stack_t *self)
{
    zf_proc_stop (self->registry_pid, 5000);
    self->registry_pid = s_spawn_registry (self);
    if (self->registry_pid <= 0) return -1;
    return s_await_registry (self, S_READY_MS);
}

//  Starts a gateway with stderr on a pipe. Returns its pid and the pipe's
//  read end in *fd, or -1.
static pid_t
s_spawn_piped (char **argv, int *fd)
{
    zf_proc_bin_dir_default ();
    const char *dir = getenv ("ZF_BIN_DIR");
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/zflow-gateway", dir ? dir : ".");
    int pipefd[2];
    if (pipe (pipefd) != 0) return -1;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent) _exit (127);
        //  A full pipe drops log lines instead of stopping the gateway.
        fcntl (pipefd[1], F_SETPIPE_SZ, 1024 * 1024);
        fcntl (pipefd[1], F_SETFL, O_NONBLOCK);
        dup2 (pipefd[1], STDERR_FILENO);
        close (pipefd[0]);
        close (pipefd[1]);
        execv (path, argv);
        _exit (127);
    }
    close (pipefd[1]);
    if (pid < 0) {
        close (pipefd[0]);
        return -1;
    }
    *fd = pipefd[0];
    return pid;
}

//  Reads the gateway's log until it says it serves. Returns its port, or -1.
static int
s_await_serving (int fd)
{
    char text[8192];
    size_t size = 0;
    int64_t deadline = zclock_mono () + S_READY_MS;
    while (size < sizeof text - 1) {
        int64_t left = deadline - zclock_mono ();
        struct pollfd item = {fd, POLLIN, 0};
        if (left <= 0 || poll (&item, 1, (int)left) != 1) break;
        ssize_t got = read (fd, text + size, sizeof text - 1 - size);
        if (got <= 0) break;
        size += (size_t)got;
        text[size] = 0;
        const char *line = strstr (text, "serving port=");
        int port = 0;
        if (line && sscanf (line, "serving port=%d", &port) == 1 && port > 0) return port;
    }
    text[size] = 0;
    fprintf (stderr, "stack: the gateway did not start:\n%s\n", text);
    return -1;
}

int
stack_gateway (gw_stack_t *self, ...)
{
    if (self->gateway_count == STACK_MAX_GATEWAYS) return -1;
    int port = zf_proc_free_port ();
    char http[32];
    snprintf (http, sizeof http, "127.0.0.1:%d", port);
    char *argv[40] = {"zflow-gateway",
                      "-v",
                      "--http",
                      http,
                      "--registry",
                      self->registry,
                      "--dispatcher-events",
                      self->dispatcher_events};
    int argc = 8;
    va_list args;
    va_start (args, self);
    for (char *arg = va_arg (args, char *); arg && argc < 39; arg = va_arg (args, char *))
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    int fd = -1;
    pid_t pid = s_spawn_piped (argv, &fd);
    if (pid <= 0) return -1;
    self->gateways[self->gateway_count] = pid;
    self->gateway_logs[self->gateway_count++] = fd;
    int serving = s_await_serving (fd);
    return serving == port ? port : -1;
}

int
stack_gateway_exit (gw_stack_t *self, char *line, size_t size, ...)
{
    char *argv[40] = {"zflow-gateway", "--registry", self->registry, "--dispatcher-events",
                      self->dispatcher_events};
    int argc = 5;
    va_list args;
    va_start (args, size);
    for (char *arg = va_arg (args, char *); arg && argc < 39; arg = va_arg (args, char *))
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    int fd = -1;
    line[0] = 0;
    pid_t pid = s_spawn_piped (argv, &fd);
    if (pid <= 0) return -1;
    //  Waits for its end on a pidfd, then reaps it for the status.
    int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
    struct pollfd item = {pidfd, POLLIN, 0};
    if (pidfd < 0 || poll (&item, 1, S_READY_MS) != 1) {
        if (pidfd >= 0) close (pidfd);
        zf_proc_stop (pid, 1000);
        close (fd);
        return -1;
    }
    close (pidfd);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    //  It ended: everything it wrote is in the pipe.
    ssize_t got = read (fd, line, size - 1);
    close (fd);
    line[got > 0 ? got : 0] = 0;
    char *newline = strchr (line, '\n');
    if (newline) *newline = 0;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

int
stack_stop_gateway (gw_stack_t *self, int index)
{
    if (index < 0 || index >= self->gateway_count || self->gateways[index] <= 0) return -1;
    int status = zf_proc_stop (self->gateways[index], 20000);
    self->gateways[index] = 0;
    int fd = self->gateway_logs[index];
    self->gateway_logs[index] = -1;
    bool clean = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!clean)
        fprintf (stderr, "stack: gateway %d ended with status 0x%x; its log:\n", index, status);
    //  The gateway is gone: whatever it wrote is in the pipe, then EOF.
    char buffer[4096];
    ssize_t got;
    while (fd >= 0 && (got = read (fd, buffer, sizeof buffer)) > 0)
        if (!clean) fwrite (buffer, 1, (size_t)got, stderr);
    if (fd >= 0) close (fd);
    return clean ? 0 : status ? status : -1;
}

int
stack_stop (gw_stack_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->gateway_count; i++)
        if (self->gateways[i] > 0 && stack_stop_gateway (self, i) != 0) rc = -1;
    zf_proc_stop (self->registry_pid, 5000);
    //  Executors and the dispatcher go down together: a dispatcher that
    //  outlives its executors reports each one lost.
    for (int i = 0; i < self->executor_count; i++)
        kill (self->executors[i], SIGTERM);
    zf_proc_stop (self->dispatcher_pid, 5000);
    for (int i = 0; i < self->executor_count; i++)
        zf_proc_stop (self->executors[i], 5000);
    zf_regclient_destroy (&self->client);
    if (self->dir[0]) {
        char command[PATH_MAX + 16];
        snprintf (command, sizeof command, "rm -rf '%s'", self->dir);
        if (system (command) != 0) fprintf (stderr, "stack: cannot remove %s\n", self->dir);
    }
    memset (self, 0, sizeof *self);
    return rc;
}

//  Sends a request; returns 0 if the reply is not an ERROR.
static int
s_call (gw_stack_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply)
{
    if (zf_regclient_call (self->client, req, reply, 30000) != 0) {
        fprintf (stderr, "stack: registry: %s\n", zf_regclient_error (self->client));
        return -1;
    }
    if (reply->type == ZF_BODY_ERROR) {
        fprintf (stderr, "stack: registry refused: %s\n", reply->text ? reply->text : "?");
        for (size_t i = 0; i < reply->line_count; i++)
            fprintf (stderr, "  %s\n", reply->lines[i]);
        return -1;
    }
    return 0;
}

int
stack_submit (gw_stack_t *self, const char *text)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = self->dir;
    return s_call (self, &req, &reply);
}

int
stack_start_run (gw_stack_t *self, const char *flow, const char *date)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    if (zf_date_parse (date, &req.date) != 0) return -1;
    return s_call (self, &req, &reply);
}

int
stack_status (gw_stack_t *self, const char *flow, const char *date, zf_reg_reply_t *reply)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = flow;
    if (zf_date_parse (date, &req.date) != 0) return -1;
    if (s_call (self, &req, reply) != 0 || reply->type != ZF_BODY_STATUS_REPLY ||
        reply->run_count != 1)
        return -1;
    return 0;
}
