/*  browser.c - browsers' connections, models, waits and checks, for tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "browser.h"
#include "mp.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Every message the browser receives goes to its model.
static void
s_on_message (ws_conn_t *conn, const uint8_t *data, size_t size, bool binary, void *arg)
{
    browser_t *self = arg;
    if (!binary || model_apply (self->model, data, size) != 0) self->protocol_errors++;
}

//  The browsers of a test.
struct _browsers_t {
    ws_pool_t *pool;      //  their connections
    browser_t **browsers; //  in the order they connected
    int count;            //  entries used
    int capacity;         //  entries allocated
};

browsers_t *
browsers_new (void)
{
    browsers_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    self->pool = ws_pool_new ();
    if (!self->pool) {
        free (self);
        fail_msg ("no WebSocket client context");
    }
    return self;
}

void
browsers_destroy (browsers_t **self_p)
{
    browsers_t *self = *self_p;
    if (!self) return;
    //  The pool first: until it is gone, it may still deliver to a browser.
    ws_pool_destroy (&self->pool);
    for (int i = 0; i < self->count; i++) {
        model_destroy (&self->browsers[i]->model);
        free (self->browsers[i]);
    }
    free (self->browsers);
    free (self);
    *self_p = NULL;
}

ws_pool_t *
browsers_pool (browsers_t *self)
{
    return self->pool;
}

browser_t *
browsers_connect (browsers_t *self, int port, const char *path)
{
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 8;
        self->browsers = realloc (self->browsers, self->capacity * sizeof (browser_t *));
        assert_non_null (self->browsers);
    }
    browser_t *browser = calloc (1, sizeof *browser);
    assert_non_null (browser);
    browser->pool = self->pool;
    browser->model = model_new ();
    self->browsers[self->count++] = browser;
    //  lws puts "http://" in front: the gateway's own address, as on a page it served.
    char origin[64];
    snprintf (origin, sizeof origin, "127.0.0.1:%d", port);
    browser->conn = ws_connect (self->pool, port, path, origin, "zflow.v1", s_on_message, browser);
    if (!browser->conn) fail_msg ("cannot connect a browser to port %d at %s", port, path);
    return browser;
}

browser_t *
browsers_at (browsers_t *self, int index)
{
    if (index < 0 || index >= self->count)
        fail_msg ("no browser %d (%d connected)", index, self->count);
    return self->browsers[index];
}

bool
browser_wait (browser_t *self, ws_done_fn *done, void *arg)
{
    return ws_pool_run (self->pool, done, arg, BROWSER_WAIT_MS);
}

//  What browser_await waits for.
typedef struct {
    browser_t *browser; //  whose model
    const char *type;   //  a message type
    int count;          //  at least this many of it
} s_count_t;

//  The browser got count messages of type.
static bool
s_got (void *arg)
{
    s_count_t *wait = arg;
    return model_count (wait->browser->model, wait->type) >= wait->count;
}

void
browser_await (browser_t *self, const char *type, int count)
{
    s_count_t wait = {self, type, count};
    if (!browser_wait (self, s_got, &wait))
        fail_msg ("no %d %s message(s) (got %d)", count, type, model_count (self->model, type));
}

void
browser_request (browser_t *self, const char *reply_type, ...)
{
    char buf[4096];
    va_list specs;
    va_start (specs, reply_type);
    size_t size = mp_vbuild (buf, sizeof buf, specs);
    va_end (specs);
    int before = model_count (self->model, reply_type);
    ws_send (self->conn, buf, size, true);
    browser_await (self, reply_type, before + 1);
}

const char *
browser_reply (browser_t *self, uint64_t id, bool ok)
{
    uint64_t got_id = 0;
    bool got_ok = false;
    const char *message = NULL;
    assert_true (model_reply (self->model, &got_id, &got_ok, &message));
    if (got_id != id || got_ok != ok)
        fail_msg ("reply id=%llu ok=%d message=%s; wanted id=%llu ok=%d",
                  (unsigned long long)got_id, got_ok, message, (unsigned long long)id, ok);
    return message;
}

long
browser_metric (int port, const char *name)
{
    char *body = NULL;
    assert_int_equal (ws_http_get (port, "/metrics", &body), 200);
    char key[128];
    snprintf (key, sizeof key, "\n%s ", name);
    const char *line = strstr (body, key);
    if (!line) fail_msg ("/metrics lacks %s", name);
    long value = -1;
    assert_int_equal (sscanf (line + strlen (key), "%ld", &value), 1);
    free (body);
    return value;
}

void
browser_health (int port, int status, const char *prefix)
{
    int64_t deadline = zclock_mono () + BROWSER_WAIT_MS;
    int got = -1;
    char *body = NULL;
    while (1) {
        free (body);
        body = NULL;
        got = ws_http_get (port, "/healthz", &body);
        bool matched = got == status && body && strncmp (body, prefix, strlen (prefix)) == 0;
        if (matched || zclock_mono () >= deadline) break;
        zclock_sleep (BROWSER_HEALTH_EVERY_MS);
    }
    if (got != status || !body || strncmp (body, prefix, strlen (prefix)) != 0)
        fail_msg ("/healthz answered %d \"%s\", not %d \"%s...\"", got, body ? body : "", status,
                  prefix);
    free (body);
}
