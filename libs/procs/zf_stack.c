/*  zf_stack.c - a real zflow on 127.0.0.1, for the tests and the benchmarks. */
#include "zf_stack.h"
#include "zf_socket.h"
#include "zf_cmdline.h"
#include "zf_common.h"
#include "zf_evsub.h"
#include "zf_proc.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

//  Bound of every wait for a process to be ready.
#define S_READY_MS 30000

//  Starts the program of a command line; -1 with the reason on stderr if
//  it is broken (an option the program does not take).
static pid_t
s_spawn (zf_cmdline_t *cmdline)
{
    char *const *argv = cmdline ? zf_cmdline_argv (cmdline) : NULL;
    pid_t pid = argv ? zf_proc_spawn_argv (argv) : -1;
    if (!argv)
        fprintf (stderr, "zf_stack: %s\n", cmdline ? zf_cmdline_error (cmdline) : "out of memory");
    zf_cmdline_destroy (&cmdline);
    return pid;
}

//  Starts the registry on the stack's endpoints.
static pid_t
s_spawn_registry (zf_stack_t *self)
{
    zf_cmdline_t *cmdline = zf_cmdline_new (&zf_registry_def);
    if (cmdline) {
        zf_cmdline_add (cmdline, ZF_OPT_BIND, self->registry);
        zf_cmdline_add (cmdline, ZF_OPT_EVENTS, self->registry_events);
        zf_cmdline_add (cmdline, ZF_OPT_DISPATCHER, self->dispatcher);
        zf_cmdline_add (cmdline, ZF_OPT_DIR, self->dir);
    }
    return s_spawn (cmdline);
}

//  Waits up to timeout_ms until what client talks to answers a PING.
//  Returns 0 or -1.
static int
s_ping (zf_regclient_t *client, int timeout_ms)
{
    //  The request waits in ZeroMQ until the program has bound: a handshake.
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    if (zf_regclient_call (client, &req, &reply, timeout_ms) != 0 || reply.type != ZF_BODY_OK) {
        fprintf (stderr, "zf_stack: %s did not answer: %s\n",
                 zf_client_endpoint (zf_regclient_client (client)), zf_regclient_error (client));
        return -1;
    }
    return 0;
}

//  Picks free ports for the dispatcher and the registry, whose events go
//  on its request port + 1 (free ports are released until the programs
//  bind them, so the kernel may hand one out twice: they must differ).
static void
s_pick_ports (zf_stack_t *self)
{
    int dispatcher = zf_proc_free_port (), events = zf_proc_free_port ();
    int registry = zf_proc_free_port ();
    for (int tries = 0; tries < 100; tries++) {
        bool clash = events == dispatcher || registry == dispatcher || registry == events ||
                     registry + 1 == dispatcher || registry + 1 == events;
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", registry + 1);
        zsock_t *probe = clash || registry >= 65535 ? NULL : zf_socket_new (ZMQ_PUB);
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
s_start_core (zf_stack_t *self, int timeout_ms)
{
    zf_cmdline_t *cmdline = zf_cmdline_new (&zf_dispatcher_def);
    if (cmdline) {
        zf_cmdline_add (cmdline, ZF_OPT_BIND, self->dispatcher);
        zf_cmdline_add (cmdline, ZF_OPT_EVENTS, self->dispatcher_events);
    }
    self->dispatcher_pid = s_spawn (cmdline);
    self->registry_pid = s_spawn_registry (self);
    self->client = zf_regclient_new (self->registry);
    if (self->dispatcher_pid <= 0 || self->registry_pid <= 0 || !self->client) return -1;
    zf_evsub_t *events = zf_evsub_new (self->dispatcher_events);
    bool bound = events && zf_evsub_wait_connected (events, timeout_ms);
    zf_evsub_destroy (&events);
    return bound ? s_ping (self->client, timeout_ms) : -1;
}

int
zf_stack_start (zf_stack_t *self, int executors, int slots)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/zf-stack-XXXXXX");
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
    for (int i = 0; i < executors && i < ZF_STACK_MAX_EXECUTORS; i++) {
        char name[32];
        snprintf (name, sizeof name, "ex%d", i + 1);
        zf_cmdline_t *cmdline = zf_cmdline_new (&zf_executor_def);
        if (cmdline) {
            zf_cmdline_add (cmdline, ZF_OPT_DISPATCHER, self->dispatcher);
            zf_cmdline_add (cmdline, ZF_OPT_NAME, name);
            zf_cmdline_add (cmdline, ZF_OPT_LOG_DIR, logs);
            zf_cmdline_add (cmdline, ZF_OPT_SLOTS, slot_text);
        }
        self->executors[self->executor_count++] = s_spawn (cmdline);
    }
    return 0;
}

int
zf_stack_attach (zf_stack_t *self, const char *registry)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/zf-stack-XXXXXX");
    if (!mkdtemp (self->dir)) return -1;
    snprintf (self->registry, sizeof self->registry, "%s", registry);
    snprintf (self->dispatcher_events, sizeof self->dispatcher_events, "tcp://127.0.0.1:%d",
              zf_proc_free_port ());
    return 0;
}

int
zf_stack_restart_registry (zf_stack_t *self)
{
    zf_proc_stop (self->registry_pid, 5000);
    self->registry_pid = s_spawn_registry (self);
    if (self->registry_pid <= 0) return -1;
    return s_ping (self->client, S_READY_MS);
}

//  Reads the gateway's log until it says it serves. Returns its port, or -1.
static int
s_await_serving (int fd)
{
    char text[8192] = "";
    int port = 0;
    if (zf_proc_read_until (fd, "serving port=", text, sizeof text, S_READY_MS) &&
        sscanf (strstr (text, "serving port="), "serving port=%d", &port) == 1 && port > 0)
        return port;
    fprintf (stderr, "zf_stack: the gateway did not start:\n%s\n", text);
    return -1;
}

//  Starts a gateway with stderr on a pipe (its read end in *fd): the
//  stack's endpoints, --http http if given, -v if verbose, then the
//  NULL-ended arguments of args. Returns its pid, or -1.
static pid_t
s_spawn_gateway (zf_stack_t *self, const char *http, bool verbose, va_list args, int *fd)
{
    zf_cmdline_t *cmdline = zf_cmdline_new (&zf_gateway_def);
    if (!cmdline) return -1;
    zf_cmdline_verbose (cmdline, verbose ? 1 : 0);
    if (http) zf_cmdline_add (cmdline, ZF_OPT_HTTP, http);
    zf_cmdline_add (cmdline, ZF_OPT_REGISTRY, self->registry);
    zf_cmdline_add (cmdline, ZF_OPT_DISPATCHER_EVENTS, self->dispatcher_events);
    char *const *base = zf_cmdline_argv (cmdline);
    if (!base) fprintf (stderr, "zf_stack: %s\n", zf_cmdline_error (cmdline));
    char *argv[ZF_CMDLINE_MAX_ARGS + 1];
    int argc = 0;
    while (base && base[argc])
        argv[argc] = base[argc], argc++;
    for (char *arg = va_arg (args, char *); arg && argc < ZF_CMDLINE_MAX_ARGS;
         arg = va_arg (args, char *))
        argv[argc++] = arg;
    argv[argc] = NULL;
    pid_t pid = base ? zf_proc_spawn_piped (argv, fd) : -1;
    zf_cmdline_destroy (&cmdline);
    return pid;
}

int
zf_stack_gateway (zf_stack_t *self, ...)
{
    if (self->gateway_count == ZF_STACK_MAX_GATEWAYS) return -1;
    int port = zf_proc_free_port ();
    char http[32];
    snprintf (http, sizeof http, "127.0.0.1:%d", port);
    int fd = -1;
    va_list args;
    va_start (args, self);
    pid_t pid = s_spawn_gateway (self, http, true, args, &fd);
    va_end (args);
    if (pid <= 0) return -1;
    self->gateways[self->gateway_count] = pid;
    self->gateway_logs[self->gateway_count++] = fd;
    int serving = s_await_serving (fd);
    return serving == port ? port : -1;
}

int
zf_stack_gateway_exit (zf_stack_t *self, char *line, size_t size, ...)
{
    int fd = -1;
    line[0] = 0;
    va_list args;
    va_start (args, size);
    pid_t pid = s_spawn_gateway (self, NULL, false, args, &fd);
    va_end (args);
    if (pid <= 0) return -1;
    int status = zf_proc_await_exit (pid, S_READY_MS);
    if (status < 0) {
        zf_proc_stop (pid, 1000);
        close (fd);
        return -1;
    }
    //  It ended: everything it wrote is in the pipe.
    ssize_t got = read (fd, line, size - 1);
    close (fd);
    line[got > 0 ? got : 0] = 0;
    char *newline = strchr (line, '\n');
    if (newline) *newline = 0;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

int
zf_stack_stop_gateway (zf_stack_t *self, int index)
{
    if (index < 0 || index >= self->gateway_count || self->gateways[index] <= 0) return -1;
    int status = zf_proc_stop (self->gateways[index], 20000);
    self->gateways[index] = 0;
    int fd = self->gateway_logs[index];
    self->gateway_logs[index] = -1;
    bool clean = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!clean)
        fprintf (stderr, "zf_stack: gateway %d ended with status 0x%x; its log:\n", index, status);
    //  The gateway is gone: whatever it wrote is in the pipe, then EOF.
    char buffer[4096];
    ssize_t got;
    while (fd >= 0 && (got = read (fd, buffer, sizeof buffer)) > 0)
        if (!clean) fwrite (buffer, 1, (size_t)got, stderr);
    if (fd >= 0) close (fd);
    return clean ? 0 : status ? status : -1;
}

pid_t
zf_stack_archiver (zf_stack_t *self, const char *registry, const char *store, char *endpoint,
                   size_t size)
{
    if (self->archiver_count == ZF_STACK_MAX_ARCHIVERS) return -1;
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    zf_cmdline_t *cmdline = zf_cmdline_new (&zf_archiver_def);
    if (cmdline) {
        zf_cmdline_add (cmdline, ZF_OPT_REGISTRY, registry ? registry : self->registry);
        zf_cmdline_add (cmdline, ZF_OPT_STORE, store);
        zf_cmdline_add (cmdline, ZF_OPT_BIND, endpoint);
    }
    pid_t pid = s_spawn (cmdline);
    if (pid <= 0) return -1;
    self->archivers[self->archiver_count++] = pid;
    return pid;
}

int
zf_stack_ping (const char *endpoint, int timeout_ms)
{
    zf_regclient_t *client = zf_regclient_new (endpoint);
    int rc = client ? s_ping (client, timeout_ms) : -1;
    zf_regclient_destroy (&client);
    return rc;
}

int
zf_stack_stop (zf_stack_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->gateway_count; i++)
        if (self->gateways[i] > 0 && zf_stack_stop_gateway (self, i) != 0) rc = -1;
    for (int i = 0; i < self->archiver_count; i++)
        zf_proc_stop (self->archivers[i], 5000);
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
        if (system (command) != 0) fprintf (stderr, "zf_stack: cannot remove %s\n", self->dir);
    }
    memset (self, 0, sizeof *self);
    return rc;
}

int
zf_stack_call (zf_stack_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply)
{
    if (zf_regclient_call (self->client, req, reply, 30000) != 0) {
        fprintf (stderr, "zf_stack: registry: %s\n", zf_regclient_error (self->client));
        return -1;
    }
    if (reply->type == ZF_BODY_ERROR) {
        fprintf (stderr, "zf_stack: registry refused: %s\n", reply->text ? reply->text : "?");
        for (size_t i = 0; i < reply->line_count; i++)
            fprintf (stderr, "  %s\n", reply->lines[i]);
        return -1;
    }
    return 0;
}

int
zf_stack_submit (zf_stack_t *self, const char *text)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = self->dir;
    return zf_stack_call (self, &req, &reply);
}

int
zf_stack_start_run (zf_stack_t *self, const char *flow, const char *date)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    if (zf_date_parse (date, &req.date) != 0) return -1;
    return zf_stack_call (self, &req, &reply);
}

int
zf_stack_status (zf_stack_t *self, const char *flow, const char *date, zf_reg_reply_t *reply)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = flow;
    if (zf_date_parse (date, &req.date) != 0) return -1;
    if (zf_stack_call (self, &req, reply) != 0 || reply->type != ZF_BODY_STATUS_REPLY ||
        reply->run_count != 1)
        return -1;
    return 0;
}
