/*  wsclient.c - libwebsockets clients and raw HTTP for the gateway's tests. */
#include "wsclient.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

//  One queued message.
typedef struct _ws_out_t {
    uint8_t *data;          //  its bytes
    size_t size;            //  their count
    size_t sent;            //  bytes sent so far
    bool binary;            //  binary or text
    struct _ws_out_t *next; //  the next message
} ws_out_t;

struct _ws_conn_t {
    ws_pool_t *pool;         //  its pool
    struct lws *wsi;         //  the connection, NULL once closed
    ws_state_t state;        //  where it stands
    int close_code;          //  the server's close code
    ws_message_fn *fn;       //  receives messages
    void *arg;               //  fn's argument
    void *user;              //  the test's pointer
    uint8_t *rx;             //  the message being reassembled
    size_t rx_size;          //  its bytes so far
    size_t rx_cap;           //  room
    bool in_message;         //  part of a message came
    bool rx_binary;          //  the message is binary
    ws_out_t *out;           //  messages to send, oldest first
    ws_out_t *out_last;      //  the newest
    struct _ws_conn_t *next; //  in the pool
};

struct _ws_pool_t {
    struct lws_context *context;     //  lws
    ws_conn_t *conns;                //  every connection made
    lws_sorted_usec_list_t deadline; //  ends a wait
    bool expired;                    //  the deadline passed
};

//  Frees a connection's queue and buffer.
static void
s_conn_free (ws_conn_t *conn)
{
    while (conn->out) {
        ws_out_t *next = conn->out->next;
        free (conn->out->data);
        free (conn->out);
        conn->out = next;
    }
    free (conn->rx);
    free (conn);
}

//  Sends the next fragment of the oldest queued message.
static int
s_write (ws_conn_t *conn)
{
    ws_out_t *out = conn->out;
    if (!out) return 0;
    size_t left = out->size - out->sent;
    size_t chunk = left < WS_FRAGMENT ? left : WS_FRAGMENT;
    uint8_t *buffer = malloc (LWS_PRE + chunk + 1);
    if (!buffer) return -1;
    memcpy (buffer + LWS_PRE, out->data + out->sent, chunk);
    int flags = lws_write_ws_flags (out->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, out->sent == 0,
                                    chunk == left);
    int rc = lws_write (conn->wsi, buffer + LWS_PRE, chunk, (enum lws_write_protocol)flags);
    free (buffer);
    if (rc < 0) return -1;
    out->sent += chunk;
    if (out->sent == out->size) {
        conn->out = out->next;
        if (!conn->out) conn->out_last = NULL;
        free (out->data);
        free (out);
    }
    if (conn->out) lws_callback_on_writable (conn->wsi);
    return 0;
}

//  Appends received bytes; hands a whole message over.
static void
s_receive (ws_conn_t *conn, const void *in, size_t len)
{
    struct lws *wsi = conn->wsi;
    if (!conn->in_message) {
        conn->in_message = true;
        conn->rx_binary = lws_frame_is_binary (wsi) != 0;
        conn->rx_size = 0;
    }
    if (conn->rx_size + len > conn->rx_cap) {
        size_t cap = conn->rx_cap ? conn->rx_cap : 4096;
        while (cap < conn->rx_size + len)
            cap *= 2;
        uint8_t *grown = realloc (conn->rx, cap);
        if (!grown) abort ();
        conn->rx = grown;
        conn->rx_cap = cap;
    }
    memcpy (conn->rx + conn->rx_size, in, len);
    conn->rx_size += len;
    if (!lws_is_final_fragment (wsi) || lws_remaining_packet_payload (wsi) > 0) return;
    conn->in_message = false;
    if (conn->fn) conn->fn (conn, conn->rx, conn->rx_size, conn->rx_binary, conn->arg);
    //  Big buffers are not kept between messages: a thousand clients would
    //  each hold one.
    if (conn->rx_cap > 256 * 1024) {
        free (conn->rx);
        conn->rx = NULL;
        conn->rx_cap = 0;
    }
}

//  The client protocol's callback.
static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    ws_conn_t *conn = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!conn) return -1;
        conn->wsi = wsi;
        conn->state = WS_OPEN;
        if (conn->out) lws_callback_on_writable (wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (conn) s_receive (conn, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return conn ? s_write (conn) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (conn && len >= 2)
            conn->close_code = (((const uint8_t *)in)[0] << 8) | ((const uint8_t *)in)[1];
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (conn) {
            conn->state = WS_FAILED;
            conn->wsi = NULL;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (conn) {
            conn->state = conn->state == WS_OPEN ? WS_CLOSED : WS_FAILED;
            conn->wsi = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols s_protocols[] = {
    {"zflow-test-client", s_callback, 0, 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

ws_pool_t *
ws_pool_new (void)
{
    ws_pool_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    lws_set_log_level (getenv ("WS_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO : 0, NULL);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    info.user = self;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    self->context = lws_create_context (&info);
    if (!self->context) {
        free (self);
        return NULL;
    }
    return self;
}

void
ws_pool_destroy (ws_pool_t **self_p)
{
    ws_pool_t *self = *self_p;
    if (!self) return;
    lws_sul_cancel (&self->deadline);
    lws_context_destroy (self->context);
    while (self->conns) {
        ws_conn_t *next = self->conns->next;
        s_conn_free (self->conns);
        self->conns = next;
    }
    free (self);
    *self_p = NULL;
}

ws_conn_t *
ws_connect (ws_pool_t *self, int port, const char *path, const char *origin,
            const char *subprotocol, ws_message_fn *fn, void *arg)
{
    ws_conn_t *conn = calloc (1, sizeof *conn);
    if (!conn) return NULL;
    conn->pool = self;
    conn->fn = fn;
    conn->arg = arg;
    conn->state = WS_CONNECTING;
    conn->next = self->conns;
    self->conns = conn;
    char host[64];
    snprintf (host, sizeof host, "127.0.0.1:%d", port);
    struct lws_client_connect_info info;
    memset (&info, 0, sizeof info);
    info.context = self->context;
    info.address = "127.0.0.1";
    info.port = port;
    info.path = path;
    info.host = host;
    info.origin = origin;
    info.protocol = subprotocol;
    info.local_protocol_name = s_protocols[0].name;
    info.ietf_version_or_minus_one = -1;
    info.userdata = conn;
    if (!lws_client_connect_via_info (&info) && conn->state == WS_CONNECTING)
        conn->state = WS_FAILED;
    return conn;
}

void
ws_send (ws_conn_t *conn, const void *data, size_t size, bool binary)
{
    ws_out_t *out = calloc (1, sizeof *out);
    if (!out) abort ();
    out->data = malloc (size ? size : 1);
    if (!out->data) abort ();
    memcpy (out->data, data, size);
    out->size = size;
    out->binary = binary;
    if (conn->out_last)
        conn->out_last->next = out;
    else
        conn->out = out;
    conn->out_last = out;
    if (conn->wsi && conn->state == WS_OPEN) lws_callback_on_writable (conn->wsi);
}

//  The deadline of a wait passed.
static void
s_expire (lws_sorted_usec_list_t *sul)
{
    ws_pool_t *self = lws_container_of (sul, ws_pool_t, deadline);
    self->expired = true;
}

bool
ws_pool_run (ws_pool_t *self, ws_done_fn *done, void *arg, int timeout_ms)
{
    if (done (arg)) return true;
    self->expired = false;
    lws_sul_schedule (self->context, 0, &self->deadline, s_expire,
                      (lws_usec_t)timeout_ms * LWS_US_PER_MS);
    bool result = false;
    while (!self->expired) {
        if (lws_service (self->context, 0) < 0) break;
        if (done (arg)) {
            result = true;
            break;
        }
    }
    lws_sul_cancel (&self->deadline);
    return result || done (arg);
}

ws_state_t
ws_state (ws_conn_t *conn)
{
    return conn->state;
}

int
ws_close_code (ws_conn_t *conn)
{
    return conn->close_code;
}

void
ws_set_user (ws_conn_t *conn, void *user)
{
    conn->user = user;
}

void *
ws_user (ws_conn_t *conn)
{
    return conn->user;
}

long
ws_raise_fd_limit (long want)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0) return -1;
    if ((long)limit.rlim_cur < want) {
        limit.rlim_cur = (rlim_t)want < limit.rlim_max ? (rlim_t)want : limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
        getrlimit (RLIMIT_NOFILE, &limit);
    }
    return (long)limit.rlim_cur;
}

//  Connects to 127.0.0.1:port and sends request; returns the socket or -1.
static int
s_http_open (int port, const char *request)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    size_t size = strlen (request);
    if (connect (fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        send (fd, request, size, MSG_NOSIGNAL) != (ssize_t)size) {
        close (fd);
        return -1;
    }
    return fd;
}

//  True once text holds a whole response: headers, and as many body bytes
//  as content-length says (if it says).
static bool
s_http_whole (const char *text, size_t size)
{
    const char *end = strstr (text, "\r\n\r\n");
    if (!end) return false;
    const char *length = strcasestr (text, "content-length:");
    if (!length || length > end) return false;
    size_t want = (size_t)strtoul (length + 15, NULL, 10);
    return size - (size_t)(end + 4 - text) >= want;
}

//  Reads from fd until until appears in what was read (NULL: a whole
//  response), EOF, or 10 s pass. Returns what was read (a new string) or NULL.
static char *
s_http_read (int fd, const char *until)
{
    size_t cap = 4096, size = 0;
    char *text = malloc (cap);
    if (!text) return NULL;
    text[0] = 0;
    while (1) {
        struct pollfd item = {fd, POLLIN, 0};
        if (poll (&item, 1, 10000) != 1) break;
        if (size + 4096 > cap) {
            cap *= 2;
            char *grown = realloc (text, cap);
            if (!grown) break;
            text = grown;
        }
        ssize_t got = recv (fd, text + size, cap - size - 1, 0);
        if (got <= 0) break;
        size += (size_t)got;
        text[size] = 0;
        if (until ? strstr (text, until) != NULL : s_http_whole (text, size)) break;
    }
    return text;
}

int
ws_http_status (int port, const char *request)
{
    int fd = s_http_open (port, request);
    if (fd < 0) return -1;
    char *text = s_http_read (fd, "\r\n");
    close (fd);
    int status = -1;
    if (text && sscanf (text, "HTTP/1.%*d %d", &status) != 1) status = -1;
    free (text);
    return status;
}

int
ws_http_get (int port, const char *path, char **body)
{
    char request[1024];
    snprintf (request, sizeof request,
              "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
    if (body) *body = NULL;
    int fd = s_http_open (port, request);
    if (fd < 0) return -1;
    char *text = s_http_read (fd, NULL);
    close (fd);
    int status = -1;
    if (text && sscanf (text, "HTTP/1.%*d %d", &status) != 1) status = -1;
    char *start = text ? strstr (text, "\r\n\r\n") : NULL;
    if (body && start) *body = strdup (start + 4);
    free (text);
    return status;
}
