/*  rawws.c - receive-only WebSocket clients on one epoll set. */
#include "rawws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

//  Bytes read from a socket at a time.
#define S_READ 65536

//  The longest upgrade response read.
#define S_HEADERS_MAX 8192

//  A message buffer larger than this is freed after each message.
#define S_KEEP 262144

struct _rw_conn_t {
    rw_pool_t *pool;         //  its pool
    int fd;                  //  the socket, -1 once closed
    rw_state_t state;        //  where it stands
    char request[1024];      //  the upgrade request
    size_t request_size;     //  its bytes
    size_t request_sent;     //  bytes sent
    uint8_t *in;             //  bytes read and not yet parsed
    size_t in_size;          //  their count
    size_t in_cap;           //  room
    uint8_t *message;        //  fragments of the message being received
    size_t message_size;     //  its bytes so far
    size_t message_cap;      //  room
    bool message_binary;     //  its opcode was binary
    rw_message_fn *fn;       //  receives messages
    void *arg;               //  its argument
    struct _rw_conn_t *next; //  in the pool
};

struct _rw_pool_t {
    int epoll;        //  the epoll set
    rw_conn_t *conns; //  every connection made
};

rw_pool_t *
rw_pool_new (void)
{
    rw_pool_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->epoll = epoll_create1 (EPOLL_CLOEXEC);
    if (self->epoll < 0) {
        free (self);
        return NULL;
    }
    return self;
}

//  Closes a connection's socket (the connection stays, with its state).
static void
s_close (rw_conn_t *conn, rw_state_t state)
{
    if (conn->fd >= 0) {
        epoll_ctl (conn->pool->epoll, EPOLL_CTL_DEL, conn->fd, NULL);
        close (conn->fd);
        conn->fd = -1;
    }
    conn->state = state;
    free (conn->in);
    free (conn->message);
    conn->in = conn->message = NULL;
    conn->in_size = conn->in_cap = conn->message_size = conn->message_cap = 0;
}

void
rw_pool_destroy (rw_pool_t **self_p)
{
    rw_pool_t *self = *self_p;
    if (!self) return;
    while (self->conns) {
        rw_conn_t *next = self->conns->next;
        s_close (self->conns, RW_CLOSED);
        free (self->conns);
        self->conns = next;
    }
    close (self->epoll);
    free (self);
    *self_p = NULL;
}

rw_conn_t *
rw_connect (rw_pool_t *self, int port, const char *path, const char *origin, rw_message_fn *fn,
            void *arg)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    rw_conn_t *conn = calloc (1, sizeof *conn);
    conn->pool = self;
    conn->fd = fd;
    conn->fn = fn;
    conn->arg = arg;
    conn->state = RW_CONNECTING;
    conn->next = self->conns;
    self->conns = conn;
    conn->request_size = (size_t)snprintf (
        conn->request, sizeof conn->request,
        "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: zflow.v1\r\nOrigin: %s\r\n\r\n",
        path, port, origin);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        s_close (conn, RW_FAILED);
        return conn;
    }
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = conn};
    if (epoll_ctl (self->epoll, EPOLL_CTL_ADD, fd, &event) != 0) s_close (conn, RW_FAILED);
    return conn;
}

//  Appends bytes to the message being received.
static void
s_append (rw_conn_t *conn, const uint8_t *data, size_t size)
{
    if (conn->message_size + size > conn->message_cap) {
        size_t cap = conn->message_cap ? conn->message_cap : 65536;
        while (cap < conn->message_size + size)
            cap *= 2;
        uint8_t *grown = realloc (conn->message, cap);
        if (!grown) abort ();
        conn->message = grown;
        conn->message_cap = cap;
    }
    memcpy (conn->message + conn->message_size, data, size);
    conn->message_size += size;
}

//  Parses the frames held; returns false once the connection closed.
static bool
s_frames (rw_conn_t *conn)
{
    size_t at = 0;
    while (conn->in_size - at >= 2) {
        const uint8_t *head = conn->in + at;
        bool fin = head[0] & 0x80;
        int opcode = head[0] & 0x0f;
        bool masked = head[1] & 0x80;
        uint64_t length = head[1] & 0x7f;
        size_t header = 2;
        if (length == 126) {
            if (conn->in_size - at < 4) break;
            length = ((uint64_t)head[2] << 8) | head[3];
            header = 4;
        } else if (length == 127) {
            if (conn->in_size - at < 10) break;
            length = 0;
            for (int i = 0; i < 8; i++)
                length = (length << 8) | head[2 + i];
            header = 10;
        }
        if (masked || length > (1ULL << 31)) {
            s_close (conn, RW_CLOSED); //  a server never masks
            return false;
        }
        if (conn->in_size - at < header + length) break;
        const uint8_t *payload = head + header;
        if (opcode == 0x8) {
            s_close (conn, RW_CLOSED);
            return false;
        }
        if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) {
            if (opcode != 0x0) {
                conn->message_binary = opcode == 0x2;
                conn->message_size = 0;
            }
            if (fin && opcode != 0x0) {
                //  A message in one frame: no copy.
                conn->fn (conn, payload, (size_t)length, conn->message_binary, conn->arg);
            } else {
                s_append (conn, payload, (size_t)length);
                if (fin) {
                    conn->fn (conn, conn->message, conn->message_size, conn->message_binary,
                              conn->arg);
                    conn->message_size = 0;
                    if (conn->message_cap > S_KEEP) {
                        free (conn->message);
                        conn->message = NULL;
                        conn->message_cap = 0;
                    }
                }
            }
        }
        at += header + (size_t)length;
    }
    if (at > 0) {
        memmove (conn->in, conn->in + at, conn->in_size - at);
        conn->in_size -= at;
    }
    return true;
}

//  Reads the upgrade response; true once it is whole and says 101.
static bool
s_upgrade (rw_conn_t *conn)
{
    conn->in[conn->in_size] = 0;
    char *end = strstr ((char *)conn->in, "\r\n\r\n");
    if (!end) {
        if (conn->in_size >= S_HEADERS_MAX) s_close (conn, RW_FAILED);
        return false;
    }
    int status = 0;
    if (sscanf ((char *)conn->in, "HTTP/1.1 %d", &status) != 1 || status != 101) {
        s_close (conn, RW_FAILED);
        return false;
    }
    size_t used = (size_t)(end + 4 - (char *)conn->in);
    memmove (conn->in, conn->in + used, conn->in_size - used);
    conn->in_size -= used;
    conn->state = RW_OPEN;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
    epoll_ctl (conn->pool->epoll, EPOLL_CTL_MOD, conn->fd, &event);
    return true;
}

//  The socket is readable: reads what is there and parses it.
static void
s_readable (rw_conn_t *conn)
{
    while (conn->fd >= 0) {
        if (conn->in_cap - conn->in_size < S_READ + 1) {
            size_t cap = conn->in_cap ? conn->in_cap * 2 : 2 * S_READ;
            uint8_t *grown = realloc (conn->in, cap);
            if (!grown) abort ();
            conn->in = grown;
            conn->in_cap = cap;
        }
        ssize_t got = recv (conn->fd, conn->in + conn->in_size, S_READ, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            s_close (conn, conn->state == RW_OPEN ? RW_CLOSED : RW_FAILED);
            return;
        }
        if (got < 0) return;
        conn->in_size += (size_t)got;
        if (conn->state == RW_CONNECTING && !s_upgrade (conn)) continue;
        if (!s_frames (conn)) return;
    }
}

//  The socket is writable: sends the rest of the upgrade request.
static void
s_writable (rw_conn_t *conn)
{
    while (conn->request_sent < conn->request_size) {
        ssize_t sent = send (conn->fd, conn->request + conn->request_sent,
                             conn->request_size - conn->request_sent, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN && errno != EINTR) s_close (conn, RW_FAILED);
            return;
        }
        conn->request_sent += (size_t)sent;
    }
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
    epoll_ctl (conn->pool->epoll, EPOLL_CTL_MOD, conn->fd, &event);
}

//  Monotonic time, ms.
static int64_t
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

bool
rw_pool_run (rw_pool_t *self, bool (*done) (void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = s_now () + timeout_ms;
    struct epoll_event events[256];
    while (!done (arg)) {
        int64_t left = deadline - s_now ();
        if (left <= 0) return false;
        int count = epoll_wait (self->epoll, events, 256, (int)left);
        if (count < 0 && errno != EINTR) return false;
        for (int i = 0; i < count; i++) {
            rw_conn_t *conn = events[i].data.ptr;
            if (conn->fd < 0) continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) s_readable (conn);
            if (conn->fd >= 0 && (events[i].events & EPOLLOUT)) s_writable (conn);
        }
    }
    return true;
}

rw_state_t
rw_state (rw_conn_t *conn)
{
    return conn->state;
}
