/*  http.h - libwebsockets on the web thread: files, /metrics, /healthz, /ws.

    One lws context with one vhost and three protocols: "http" (static
    files from the web folder, /metrics, /healthz; it also vets every
    WebSocket upgrade: path /ws, subprotocol zflow.v1, Origin, the token
    when viewing is closed, the number of browsers), "zflow.v1" (the
    browsers, handed to clients.c) and a raw one for the stop descriptor.

    Static files are resolved with realpath and must lie inside the web
    folder; anything else is 404. Without a web folder (the dashboard not
    built) "/" is a plain page saying so; /metrics and /healthz work either
    way.

    This is the only file besides clients.c that calls lws, and all of it
    runs on the thread that runs zf_gw_http_service, except
    zf_gw_http_wake, which any thread may call.
*/
#ifndef ZF_GW_HTTP_H_INCLUDED
#define ZF_GW_HTTP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "clients.h"
#include "gateway.h"
#include "metrics.h"

typedef struct _zf_gw_http_t zf_gw_http_t;

//  What the web thread does besides serving, called back from lws.
typedef struct {
    void (*woken) (void *arg); //  zf_gw_http_wake came through
    void (*tick) (void *arg);  //  the timer armed with zf_gw_http_tick ran out
    void (*stop) (void *arg);  //  the stop descriptor became readable
    void *arg;                 //  their argument
} zf_gw_http_hooks_t;

//  Creates the context and binds. origins must hold at least one entry.
//  NULL with the reason in why if it cannot.
zf_gw_http_t *zf_gw_http_new (const zf_gateway_config_t *cfg, zf_gw_clients_t *clients,
                              zf_gw_metrics_t *metrics, const zf_gw_http_hooks_t *hooks, char *why,
                              size_t why_size);

//  Closes every connection and the context. Idempotent.
void zf_gw_http_destroy (zf_gw_http_t **self_p);

//  The port bound.
int zf_gw_http_port (zf_gw_http_t *self);

//  Serves whatever is pending, waiting for it if nothing is. Returns 0,
//  or -1 if lws failed.
int zf_gw_http_service (zf_gw_http_t *self);

//  Wakes the service loop (the woken hook runs); any thread.
void zf_gw_http_wake (zf_gw_http_t *self);

//  Arms the timer to run the tick hook in delay_ms, unless it is armed.
void zf_gw_http_tick (zf_gw_http_t *self, int delay_ms);

//  The allowed origins (after defaults were filled in).
int zf_gw_http_origin_count (zf_gw_http_t *self);
const char *zf_gw_http_origin (zf_gw_http_t *self, int index);

#endif
