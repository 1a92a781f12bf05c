/*  http.c - the lws context: static files, /metrics, /healthz, the /ws upgrade. */
#include "http.h"
#include "zf_common.h"

#include <assert.h>
#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The WebSocket subprotocol and path.
#define S_SUBPROTOCOL "zflow.v1"
#define S_WS_PATH     "/ws"

//  Bytes lws reads from a browser per receive callback.
#define S_RX_BUFFER (64 * 1024)

//  Room for a request path, an Origin, a header we compare.
#define S_HEADER_MAX 1024

//  Headers every response of ours carries besides lws's.
#define S_EXTRA_HEADERS                                                                            \
    "x-content-type-options: nosniff\x0d\x0a"                                                      \
    "cache-control: no-cache\x0d\x0a"

struct _zf_gw_http_t {
    const zf_gateway_config_t *cfg;   //  what to serve (held by the gateway)
    zf_gw_clients_t *clients;         //  the browsers
    zf_gw_metrics_t *metrics;         //  /metrics, /healthz
    zf_gw_http_hooks_t hooks;         //  woken, tick, stop
    struct lws_context *context;      //  lws
    struct lws_vhost *vhost;          //  the one vhost
    int port;                         //  the port bound
    char *web_root;                   //  realpath of the web folder, or NULL if there is none
    char *origins[ZF_GW_MAX_ORIGINS]; //  allowed Origin values
    int origin_count;                 //  entries in origins
    lws_sorted_usec_list_t tick;      //  the flush timer
    bool tick_armed;                  //  it is scheduled
};

//  A plain HTTP response being written.
typedef struct {
    uint8_t *body; //  LWS_PRE bytes, then the body
    size_t size;   //  bytes of body
} s_http_session_t;

//  A browser's connection.
typedef struct {
    zf_gw_client_t *client; //  its state
} s_ws_session_t;

//  The http object of a connection.
static zf_gw_http_t *
s_self (struct lws *wsi)
{
    return lws_context_user (lws_get_context (wsi));
}

//  ---------------------------------------------------------------------------
//  Plain responses

//  Sends status with a body (copied). Returns 0, or -1 to close.
static int
s_respond (struct lws *wsi, s_http_session_t *session, unsigned status, const char *type,
           const char *body, size_t size)
{
    free (session->body);
    session->body = malloc (LWS_PRE + size + 1);
    if (!session->body) return -1;
    memcpy (session->body + LWS_PRE, body, size);
    session->size = size;
    uint8_t headers[LWS_PRE + 1024];
    uint8_t *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
    if (lws_add_http_common_headers (wsi, status, type, size, &p, end) ||
        lws_add_http_header_by_name (wsi, (const uint8_t *)"x-content-type-options:",
                                     (const uint8_t *)"nosniff", 7, &p, end) ||
        lws_add_http_header_by_name (
            wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header (wsi, start, &p, end))
        return -1;
    lws_callback_on_writable (wsi);
    return 0;
}

//  Sends a short text response.
static int
s_text (struct lws *wsi, s_http_session_t *session, unsigned status, const char *text)
{
    return s_respond (wsi, session, status, "text/plain; charset=utf-8", text, strlen (text));
}

//  The page shown when the dashboard was not built.
static const char s_not_built[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>zflow</title></head>\n"
    "<body><h1>zflow</h1><p>The dashboard is not built: the gateway has no web folder to "
    "serve. Build it, or point <code>zflow-gateway --web</code> at it.</p>\n"
    "<p><a href=\"/metrics\">/metrics</a> and <a href=\"/healthz\">/healthz</a> work "
    "without it.</p></body></html>\n";

//  Content types by file extension.
static const struct {
    const char *extension; //  without the dot
    const char *type;      //  Content-Type
} s_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"wasm", "application/wasm"},
};

//  The Content-Type of a file name.
static const char *
s_content_type (const char *path)
{
    const char *dot = strrchr (path, '.');
    const char *slash = strrchr (path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
            if (strcasecmp (dot + 1, s_types[i].extension) == 0) return s_types[i].type;
    return "application/octet-stream";
}

//  Serves a file of the web folder, or 404. The path is checked twice: it
//  must not name a parent or hold odd bytes, and once resolved (links and
//  all) it must still lie inside the folder.
static int
s_static (zf_gw_http_t *self, struct lws *wsi, s_http_session_t *session, const char *path)
{
    if (!self->web_root) {
        if (strcmp (path, "/") == 0 || strcmp (path, "/index.html") == 0)
            return s_respond (wsi, session, HTTP_STATUS_OK, "text/html; charset=utf-8", s_not_built,
                              sizeof s_not_built - 1);
        return s_text (wsi, session, HTTP_STATUS_NOT_FOUND, "not found\n");
    }
    size_t length = strlen (path);
    if (path[0] != '/' || strstr (path, "..") || strchr (path, '\\') || length > PATH_MAX / 2)
        return s_text (wsi, session, HTTP_STATUS_NOT_FOUND, "not found\n");
    char wanted[PATH_MAX];
    snprintf (wanted, sizeof wanted, "%s%s%s", self->web_root, path,
              path[length - 1] == '/' ? "index.html" : "");
    char real[PATH_MAX];
    struct stat info;
    size_t root = strlen (self->web_root);
    if (!realpath (wanted, real) || strncmp (real, self->web_root, root) != 0 ||
        real[root] != '/' || stat (real, &info) != 0 || !S_ISREG (info.st_mode))
        return s_text (wsi, session, HTTP_STATUS_NOT_FOUND, "not found\n");
    int rc = lws_serve_http_file (wsi, real, s_content_type (real), S_EXTRA_HEADERS,
                                  (int)strlen (S_EXTRA_HEADERS));
    if (rc < 0) return -1;
    if (rc > 0 && lws_http_transaction_completed (wsi)) return -1;
    return 0;
}

//  One HTTP request for path.
static int
s_request (zf_gw_http_t *self, struct lws *wsi, s_http_session_t *session, const char *path)
{
    if (lws_hdr_total_length (wsi, WSI_TOKEN_GET_URI) <= 0)
        return s_text (wsi, session, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp (path, "/metrics") == 0) {
        size_t size = 0;
        char *text = zf_gw_metrics_render (self->metrics, &size);
        if (!text)
            return s_text (wsi, session, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory\n");
        int rc = s_respond (wsi, session, HTTP_STATUS_OK,
                            "text/plain; version=0.0.4; charset=utf-8", text, size);
        free (text);
        return rc;
    }
    if (strcmp (path, "/healthz") == 0) {
        char line[160];
        int status = zf_gw_metrics_health (self->metrics, line, sizeof line);
        return s_text (wsi, session,
                       status == 200 ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE, line);
    }
    if (strcmp (path, S_WS_PATH) == 0)
        return s_text (wsi, session, HTTP_STATUS_BAD_REQUEST,
                       "this is the WebSocket endpoint (subprotocol " S_SUBPROTOCOL ")\n");
    return s_static (self, wsi, session, path);
}

//  ---------------------------------------------------------------------------
//  The WebSocket upgrade

//  Refuses an upgrade with status and a short text. Returns 1 (lws: the
//  response was sent).
static int
s_refuse (struct lws *wsi, unsigned status, const char *reason)
{
    zf_log_info ("websocket refused status=%u reason=\"%s\"", status, reason);
    lws_return_http_status (wsi, status, reason);
    return 1;
}

//  True if the comma-separated list holds item.
static bool
s_list_has (const char *list, const char *item)
{
    size_t size = strlen (item);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        if ((size_t)(end - p) == size && strncmp (p, item, size) == 0) return true;
        p = end;
    }
    return false;
}

//  Vets an upgrade: the path, the subprotocol, the Origin, the token when
//  viewing is closed, the number of browsers. Returns 0 to let it through,
//  1 when refused.
static int
s_confirm_upgrade (zf_gw_http_t *self, struct lws *wsi)
{
    char value[S_HEADER_MAX];
    if (lws_hdr_copy (wsi, value, sizeof value, WSI_TOKEN_GET_URI) <= 0 ||
        strcmp (value, S_WS_PATH) != 0)
        return s_refuse (wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket here: use " S_WS_PATH);
    if (lws_hdr_copy (wsi, value, sizeof value, WSI_TOKEN_PROTOCOL) <= 0 ||
        !s_list_has (value, S_SUBPROTOCOL))
        return s_refuse (wsi, HTTP_STATUS_BAD_REQUEST, "subprotocol " S_SUBPROTOCOL " required");
    //  Browsers always send Origin on a WebSocket upgrade, and a page of
    //  another site must not drive the dashboard's socket; other clients
    //  send none and are let through to the token checks.
    int origin = lws_hdr_total_length (wsi, WSI_TOKEN_ORIGIN);
    if (origin > 0) {
        bool allowed = false;
        if (origin < (int)sizeof value &&
            lws_hdr_copy (wsi, value, sizeof value, WSI_TOKEN_ORIGIN) > 0)
            for (int i = 0; i < self->origin_count && !allowed; i++)
                allowed = strcmp (value, self->origins[i]) == 0;
        if (!allowed) return s_refuse (wsi, HTTP_STATUS_FORBIDDEN, "origin not allowed");
    }
    if (self->cfg->read_only_closed) {
        char token[ZF_GW_MAX_TOKEN + 16];
        const char *given = lws_get_urlarg_by_name (wsi, "token=", token, (int)sizeof token);
        if (!zf_gw_token_equal (self->cfg->token, given))
            return s_refuse (wsi, HTTP_STATUS_FORBIDDEN, "token required");
    }
    if ((int)zf_gw_clients_count (self->clients) >= self->cfg->max_clients) {
        zf_gw_metrics_limit (self->metrics, ZF_GW_LIMIT_CLIENTS);
        zf_log_warn ("browser refused limit=--max-clients (%d)", self->cfg->max_clients);
        return s_refuse (wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "too many clients (--max-clients)");
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  Callbacks

//  Protocol "http": plain requests, upgrades, wakes.
static int
s_http_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    zf_gw_http_t *self = s_self (wsi);
    s_http_session_t *session = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (self && self->hooks.woken) self->hooks.woken (self->hooks.arg);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return s_confirm_upgrade (self, wsi);
    case LWS_CALLBACK_HTTP:
        return s_request (self, wsi, session, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!session || !session->body) return 0;
        int rc = lws_write (wsi, session->body + LWS_PRE, session->size, LWS_WRITE_HTTP_FINAL);
        free (session->body);
        session->body = NULL;
        if (rc < 0 || lws_http_transaction_completed (wsi)) return -1;
        return 0;
    }
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        if (lws_http_transaction_completed (wsi)) return -1;
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (session) {
            free (session->body);
            session->body = NULL;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        //  An upgrade that bound to this protocol asked for none we speak.
        return -1;
    default:
        return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}

//  Protocol "zflow.v1": the browsers.
static int
s_ws_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    zf_gw_http_t *self = s_self (wsi);
    s_ws_session_t *session = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        session->client = zf_gw_clients_open (self->clients, wsi);
        return session->client ? 0 : -1;
    case LWS_CALLBACK_RECEIVE:
        if (!session->client) return -1;
        return zf_gw_clients_receive (self->clients, session->client, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!session->client) return -1;
        return zf_gw_clients_writable (self->clients, session->client);
    case LWS_CALLBACK_CLOSED:
        zf_gw_clients_close (self->clients, session->client);
        session->client = NULL;
        return 0;
    default:
        return 0;
    }
}

//  Protocol "zflow-stop": the stop descriptor, adopted as a raw file.
static int
s_stop_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    zf_gw_http_t *self = s_self (wsi);
    if (reason == LWS_CALLBACK_RAW_RX_FILE) {
        //  A signalfd: read what is there (a record is 128 bytes), so the
        //  descriptor does not stay readable.
        char buffer[512];
        if (read (lws_get_socket_fd (wsi), buffer, sizeof buffer) < 0 && errno != EAGAIN)
            zf_log_debug ("stop descriptor read failed errno=%d", errno);
        if (self && self->hooks.stop) self->hooks.stop (self->hooks.arg);
    }
    return 0;
}

static const struct lws_protocols s_protocols[] = {
    {"http", s_http_callback, sizeof (s_http_session_t), 0, 0, NULL, 0},
    {S_SUBPROTOCOL, s_ws_callback, sizeof (s_ws_session_t), S_RX_BUFFER, 0, NULL, 0},
    {"zflow-stop", s_stop_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

//  lws's log lines go to ours, as detail: the gateway reports what matters
//  itself, and lws is chatty about browsers that simply go away.
static void
s_lws_log (int level, const char *line)
{
    size_t size = strlen (line);
    while (size > 0 && (line[size - 1] == '\n' || line[size - 1] == '\r'))
        size--;
    if (level & LLL_ERR)
        zf_log_info ("lws: %.*s", (int)size, line);
    else
        zf_log_debug ("lws: %.*s", (int)size, line);
}

//  The flush timer ran out.
static void
s_on_tick (lws_sorted_usec_list_t *sul)
{
    zf_gw_http_t *self = lws_container_of (sul, zf_gw_http_t, tick);
    self->tick_armed = false;
    if (self->hooks.tick) self->hooks.tick (self->hooks.arg);
}

//  ---------------------------------------------------------------------------

zf_gw_http_t *
zf_gw_http_new (const zf_gateway_config_t *cfg, zf_gw_clients_t *clients, zf_gw_metrics_t *metrics,
                const zf_gw_http_hooks_t *hooks, char *why, size_t why_size)
{
    assert (cfg && clients && metrics && hooks && why);
    zf_gw_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (why, why_size, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->clients = clients;
    self->metrics = metrics;
    self->hooks = *hooks;
    //  A web folder counts only with an index.html in it.
    char real[PATH_MAX], index[PATH_MAX + 16];
    if (cfg->web_dir && realpath (cfg->web_dir, real)) {
        struct stat info;
        snprintf (index, sizeof index, "%s/index.html", real);
        if (stat (index, &info) == 0 && S_ISREG (info.st_mode)) self->web_root = strdup (real);
    }
    if (!self->web_root)
        zf_log_warn ("the dashboard is not built dir=%s", cfg->web_dir ? cfg->web_dir : "-");

    int verbosity = zf_log_enabled (ZF_LOG_DEBUG)  ? LLL_ERR | LLL_WARN | LLL_NOTICE
                    : zf_log_enabled (ZF_LOG_INFO) ? LLL_ERR
                                                   : 0;
    lws_set_log_level (verbosity, s_lws_log);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    bool any = !cfg->host || !*cfg->host || strcmp (cfg->host, "0.0.0.0") == 0 ||
               strcmp (cfg->host, "*") == 0;
    info.port = cfg->port;
    info.iface = any ? NULL : cfg->host;
    info.protocols = s_protocols;
    info.user = self;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (any || strchr (cfg->host, ':') == NULL) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    self->context = lws_create_context (&info);
    if (self->context) self->vhost = lws_get_vhost_by_name (self->context, "default");
    if (!self->context || !self->vhost) {
        snprintf (why, why_size, "cannot listen on %s:%d", any ? "*" : cfg->host, cfg->port);
        zf_gw_http_destroy (&self);
        return NULL;
    }
    self->port = lws_get_vhost_listen_port (self->vhost);
    if (cfg->origin_count > 0)
        for (int i = 0; i < cfg->origin_count && i < ZF_GW_MAX_ORIGINS; i++)
            self->origins[self->origin_count++] = strdup (cfg->origins[i]);
    else {
        char origin[300];
        snprintf (origin, sizeof origin, "http://%s:%d", any ? "127.0.0.1" : cfg->host, self->port);
        self->origins[self->origin_count++] = strdup (origin);
        snprintf (origin, sizeof origin, "http://localhost:%d", self->port);
        self->origins[self->origin_count++] = strdup (origin);
    }
    for (int i = 0; i < self->origin_count; i++)
        assert (self->origins[i]);
    if (cfg->stop_fd >= 0) {
        //  lws closes what it adopts: give it a copy.
        lws_sock_file_fd_type fd;
        fd.filefd = dup (cfg->stop_fd);
        if (fd.filefd < 0 || !lws_adopt_descriptor_vhost (self->vhost, LWS_ADOPT_RAW_FILE_DESC, fd,
                                                          "zflow-stop", NULL)) {
            snprintf (why, why_size, "cannot watch the stop descriptor");
            zf_gw_http_destroy (&self);
            return NULL;
        }
    }
    zf_log_info ("listening http=%s:%d web=%s", any ? "*" : cfg->host, self->port,
                 self->web_root ? self->web_root : "(not built)");
    return self;
}

void
zf_gw_http_destroy (zf_gw_http_t **self_p)
{
    assert (self_p);
    zf_gw_http_t *self = *self_p;
    if (!self) return;
    if (self->context) {
        lws_sul_cancel (&self->tick);
        lws_context_destroy (self->context);
    }
    for (int i = 0; i < self->origin_count; i++)
        free (self->origins[i]);
    free (self->web_root);
    free (self);
    *self_p = NULL;
}

int
zf_gw_http_port (zf_gw_http_t *self)
{
    assert (self);
    return self->port;
}

int
zf_gw_http_service (zf_gw_http_t *self)
{
    assert (self);
    return lws_service (self->context, 0) < 0 ? -1 : 0;
}

void
zf_gw_http_wake (zf_gw_http_t *self)
{
    assert (self);
    lws_cancel_service (self->context);
}

void
zf_gw_http_tick (zf_gw_http_t *self, int delay_ms)
{
    assert (self);
    if (self->tick_armed) return;
    self->tick_armed = true;
    lws_sul_schedule (self->context, 0, &self->tick, s_on_tick,
                      (lws_usec_t)(delay_ms > 0 ? delay_ms : 0) * LWS_US_PER_MS);
}

int
zf_gw_http_origin_count (zf_gw_http_t *self)
{
    assert (self);
    return self->origin_count;
}

const char *
zf_gw_http_origin (zf_gw_http_t *self, int index)
{
    assert (self && index >= 0 && index < self->origin_count);
    return self->origins[index];
}
