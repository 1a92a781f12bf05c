/*  Integration tests of where the services listen: each one started with
    no bind option answers on 127.0.0.1 at its default ports and not on
    this machine's other IPv4 address, and says nothing about it; told to
    listen on an address that is not loopback, it warns once that the link
    is neither authenticated nor encrypted, and told 127.0.0.1, it does not.

    The address that is not loopback is one of the documentation networks
    (RFC 5737) that this machine does not have: the service warns, cannot
    bind it and ends, so the test binds nothing beyond 127.0.0.1. The
    default ports must be free: a test whose ports are taken by another
    program says so and skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "zf_proc.h"

//  Bound of every wait for a service.
#define S_WAIT_MS 30000

//  What every warning about an exposed endpoint says.
#define S_WARNING "neither authenticated nor encrypted"

typedef struct {
    char dir[64];                  //  temporary folder
    char other[INET_ADDRSTRLEN];   //  an IPv4 address of this machine that is not loopback, or ""
    char nowhere[INET_ADDRSTRLEN]; //  an IPv4 address that is not this machine's
    char output[8192];             //  what the last service wrote on stderr
} s_fixture_t;

//  Finds this machine's first IPv4 address that is up and not loopback
//  (fx->other, "" if none) and an address it does not have (fx->nowhere).
static void
s_addresses (s_fixture_t *fx)
{
    const char *nowhere[] = {"192.0.2.1", "198.51.100.1", "203.0.113.1"};
    bool taken[3] = {false, false, false};
    struct ifaddrs *list = NULL;
    if (getifaddrs (&list) != 0) return;
    for (struct ifaddrs *item = list; item; item = item->ifa_next) {
        if (!item->ifa_addr || item->ifa_addr->sa_family != AF_INET) continue;
        const struct sockaddr_in *address = (const struct sockaddr_in *)item->ifa_addr;
        char text[INET_ADDRSTRLEN];
        inet_ntop (AF_INET, &address->sin_addr, text, sizeof text);
        for (int i = 0; i < 3; i++)
            taken[i] |= strcmp (text, nowhere[i]) == 0;
        bool up = (item->ifa_flags & IFF_UP) && !(item->ifa_flags & IFF_LOOPBACK);
        if (up && !fx->other[0] && ntohl (address->sin_addr.s_addr) >> 24 != 127)
            snprintf (fx->other, sizeof fx->other, "%s", text);
    }
    freeifaddrs (list);
    for (int i = 0; i < 3 && !fx->nowhere[0]; i++)
        if (!taken[i]) snprintf (fx->nowhere, sizeof fx->nowhere, "%s", nowhere[i]);
}

static int
setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof *fx);
    snprintf (fx->dir, sizeof fx->dir, "/tmp/zf-defaults-XXXXXX");
    if (!fx || !mkdtemp (fx->dir)) return -1;
    s_addresses (fx);
    if (!fx->nowhere[0]) return -1;
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    s_fixture_t *fx = *state;
    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", fx->dir);
    if (system (command) != 0) fprintf (stderr, "cannot remove %s\n", fx->dir);
    free (fx);
    return 0;
}

//  Connects to address:port over TCP within timeout_ms. Returns the socket,
//  or -1 with errno (ECONNREFUSED: nothing listens there; ETIMEDOUT).
static int
s_connect (const char *address, int port, int timeout_ms)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    if (inet_pton (AF_INET, address, &peer.sin_addr) != 1) return -1;
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect (fd, (struct sockaddr *)&peer, sizeof peer) == 0) return fd;
    struct pollfd item = {fd, POLLOUT, 0};
    int error = errno == EINPROGRESS ? 0 : errno;
    if (!error && poll (&item, 1, timeout_ms) != 1) error = ETIMEDOUT;
    socklen_t length = sizeof error;
    if (!error) getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (!error) return fd;
    close (fd);
    errno = error;
    return -1;
}

//  True if nothing listens on address:port.
static bool
s_refused (const char *address, int port)
{
    int fd = s_connect (address, port, S_WAIT_MS);
    int error = errno;
    if (fd >= 0) close (fd);
    return fd < 0 && error == ECONNREFUSED;
}

//  True if a ZeroMQ socket (its greeting starts with 0xFF) or, with http,
//  an HTTP server answers on 127.0.0.1:port.
static bool
s_answers (int port, bool http)
{
    int fd = s_connect ("127.0.0.1", port, S_WAIT_MS);
    if (fd < 0) return false;
    const char request[] = "GET /healthz HTTP/1.0\r\n\r\n";
    bool sent = !http || write (fd, request, sizeof request - 1) == sizeof request - 1;
    char reply[16] = "";
    size_t got = 0;
    struct pollfd item = {fd, POLLIN, 0};
    while (sent && got < 8 && poll (&item, 1, S_WAIT_MS) == 1) {
        ssize_t size = read (fd, reply + got, 8 - got);
        if (size <= 0) break;
        got += (size_t)size;
    }
    close (fd);
    return http ? got == 8 && memcmp (reply, "HTTP/1.", 7) == 0
                : got >= 1 && (unsigned char)reply[0] == 0xFF;
}

//  Reads fd into the fixture's output until it holds needle (true), or it
//  ends or the wait does (false).
static bool
s_read_until (s_fixture_t *fx, int fd, const char *needle)
{
    return zf_proc_read_until (fd, needle, fx->output, sizeof fx->output, S_WAIT_MS);
}

//  Times the warning appears in the fixture's output.
static int
s_warnings (s_fixture_t *fx)
{
    int count = 0;
    for (const char *at = fx->output; (at = strstr (at, S_WARNING)); at++)
        count++;
    return count;
}

//  Starts argv with stderr on a pipe and reads it until ready says it
//  listens. Returns its pid (the pipe in *fd), failing the test if it does
//  not get there.
static pid_t
s_start (s_fixture_t *fx, char **argv, const char *ready, int *fd)
{
    fx->output[0] = 0;
    pid_t pid = zf_proc_spawn_piped (argv, fd);
    assert_true (pid > 0);
    if (!s_read_until (fx, *fd, ready)) {
        zf_proc_stop (pid, 5000);
        fail_msg ("%s did not say \"%s\":\n%s", argv[0], ready, fx->output);
    }
    return pid;
}

//  Stops a service started by s_start: it must exit cleanly.
static void
s_stop (pid_t pid, int fd)
{
    int status = zf_proc_stop (pid, 10000);
    close (fd);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
}

//  Runs argv, which is told to listen beyond loopback, to its end: it warns
//  once, naming endpoints, the list of every such endpoint.
static void
s_warns_once (s_fixture_t *fx, char **argv, const char *endpoints)
{
    fx->output[0] = 0;
    int fd = -1;
    pid_t pid = zf_proc_spawn_piped (argv, &fd);
    assert_true (pid > 0);
    s_read_until (fx, fd, NULL);
    zf_proc_stop (pid, 5000);
    close (fd);
    if (s_warnings (fx) != 1)
        fail_msg ("%s warned %d times:\n%s", argv[0], s_warnings (fx), fx->output);
    char names[256];
    snprintf (names, sizeof names, "endpoints=%s\n", endpoints);
    if (!strstr (fx->output, names)) fail_msg ("no \"%s\" in:\n%s", names, fx->output);
}

//  The default ports of a service must be free on every address, or the
//  test skips: another program would answer in its place.
static void
s_ports_free (s_fixture_t *fx, const int *ports, int count)
{
    for (int i = 0; i < count; i++) {
        bool free_here = s_refused ("127.0.0.1", ports[i]);
        bool free_there = !fx->other[0] || s_refused (fx->other, ports[i]);
        if (!free_here || !free_there) {
            fprintf (stderr, "port %d is taken by another program: skipped\n", ports[i]);
            skip ();
        }
    }
}

//  With no bind option, a service started by argv answers on 127.0.0.1 at
//  ports (an HTTP server if http) and not on the machine's other address,
//  and does not warn.
static void
s_listens_on_loopback (s_fixture_t *fx, char **argv, const char *ready, const int *ports, int count,
                       bool http)
{
    s_ports_free (fx, ports, count);
    int fd = -1;
    pid_t pid = s_start (fx, argv, ready, &fd);
    for (int i = 0; i < count; i++) {
        assert_true (s_answers (ports[i], http));
        if (fx->other[0])
            assert_true (s_refused (fx->other, ports[i]));
        else
            fprintf (stderr, "this machine has no IPv4 address but loopback\n");
    }
    assert_int_equal (s_warnings (fx), 0);
    s_stop (pid, fd);
}

static void
test_registry (void **state)
{
    s_fixture_t *fx = *state;
    char dir[128], bind[64], events[64];
    snprintf (dir, sizeof dir, "%s/registry", fx->dir);
    char *defaults[] = {"zflow-registry", "-v", "--dir", dir, NULL};
    const int ports[] = {5570, 5571};
    s_listens_on_loopback (fx, defaults, " ready ", ports, 2, false);

    snprintf (bind, sizeof bind, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    snprintf (events, sizeof events, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    char *loopback[] = {"zflow-registry", "-v",   "--dir", dir, "--bind", bind,
                        "--events",       events, NULL};
    int fd = -1;
    pid_t pid = s_start (fx, loopback, " ready ", &fd);
    assert_int_equal (s_warnings (fx), 0);
    s_stop (pid, fd);

    snprintf (bind, sizeof bind, "tcp://%s:5570", fx->nowhere);
    char *exposed[] = {"zflow-registry", "--dir",        dir, "--bind", bind,
                       "--events",       "tcp://*:5571", NULL};
    char names[128];
    snprintf (names, sizeof names, "%s,tcp://*:5571", bind);
    s_warns_once (fx, exposed, names);
}

static void
test_dispatcher (void **state)
{
    s_fixture_t *fx = *state;
    char *defaults[] = {"zflow-dispatcher", "-v", NULL};
    const int ports[] = {5560, 5561};
    s_listens_on_loopback (fx, defaults, " ready ", ports, 2, false);

    char bind[64];
    snprintf (bind, sizeof bind, "tcp://%s:5560", fx->nowhere);
    char *exposed[] = {"zflow-dispatcher", "--bind", bind, NULL};
    s_warns_once (fx, exposed, bind);
}

static void
test_archiver (void **state)
{
    s_fixture_t *fx = *state;
    char store[128];
    snprintf (store, sizeof store, "sqlite:%s/archive.db", fx->dir);
    char *defaults[] = {"zflow-archiver", "-v", "--store", store, NULL};
    const int ports[] = {5574};
    s_listens_on_loopback (fx, defaults, " ready ", ports, 1, false);

    char bind[64];
    snprintf (bind, sizeof bind, "tcp://%s:5574", fx->nowhere);
    char *exposed[] = {"zflow-archiver", "--store", store, "--bind", bind, NULL};
    s_warns_once (fx, exposed, bind);
}

static void
test_gateway (void **state)
{
    s_fixture_t *fx = *state;
    char *defaults[] = {"zflow-gateway", "-v", NULL};
    const int ports[] = {8080};
    s_listens_on_loopback (fx, defaults, "serving port=", ports, 1, true);

    char http[64];
    snprintf (http, sizeof http, "%s:8080", fx->nowhere);
    char *exposed[] = {"zflow-gateway", "--http", http, NULL};
    s_warns_once (fx, exposed, http);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown (test_dispatcher, setup, teardown),
        cmocka_unit_test_setup_teardown (test_archiver, setup, teardown),
        cmocka_unit_test_setup_teardown (test_gateway, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
