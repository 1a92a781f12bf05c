/*  zflow-gateway as a process against a real registry, dispatcher and
    executor: hello and snapshot, updates of a run, actions without and
    with the token, shards, logs and history, bad frames and a 2 MiB frame
    that close their connections while another browser keeps receiving,
    the Origin check, read-only viewing closed, static files, /metrics,
    /healthz, the page shown when the dashboard is not built, and a fresh
    snapshot for everyone when the registry starts a new history. Every
    wait is for something the gateway sends, with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browser.h"
#include "model.h"
#include "mp.h"
#include "zf_stack.h"
#include "wsclient.h"

//  The token of the main gateway.
#define S_TOKEN "s3cret-token"

static const char *s_flow = "flow: gw\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: prep\n"
                            "    after: [start]\n"
                            "    service: noop\n"
                            "  - id: fan\n"
                            "    after: [prep]\n"
                            "    shards: [alpha, beta, gamma]\n"
                            "    service: noop\n"
                            "  - id: shell\n"
                            "    after: [fan]\n"
                            "    run: \"echo hello from shell\"\n";

//  The processes, the web folder and the browsers, for every test.
typedef struct {
    zf_stack_t stack;     //  registry, dispatcher, executor, gateways
    char web[PATH_MAX];   //  a web folder with an index.html
    int port;             //  the main gateway's HTTP port
    char origin[64];      //  an Origin it allows
    browsers_t *browsers; //  the browsers and their pool
} fixture_t;

//  A run to wait for.
typedef struct {
    browser_t *client; //  whose state
    const char *flow;  //  the run's flow
    const char *date;  //  and date
    const char *state; //  the state wanted
} s_wait_t;

//  The run reached state, every task done.
static bool
s_run_is (void *arg)
{
    s_wait_t *wait = arg;
    const char *state = model_run_state (wait->client->model, wait->flow, wait->date);
    return state && strcmp (state, wait->state) == 0;
}

//  The connection is closed (or failed).
static bool
s_closed (void *arg)
{
    ws_conn_t *conn = arg;
    return ws_state (conn) == WS_CLOSED || ws_state (conn) == WS_FAILED;
}

//  Waits for the run to reach state.
static void
s_await_run (browser_t *client, const char *flow, const char *date, const char *state)
{
    s_wait_t wait = {client, flow, date, state};
    if (!browser_wait (client, s_run_is, &wait))
        fail_msg ("run %s %s is %s, not %s", flow, date,
                  model_run_state (client->model, flow, date) ?: "unknown", state);
}

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    *state = fx;
    assert_int_equal (zf_stack_start (&fx->stack, 1, 4), 0);
    assert_true (snprintf (fx->web, sizeof fx->web, "%s/web", fx->stack.dir) < (int)sizeof fx->web);
    char path[PATH_MAX + 32];
    assert_int_equal (mkdir (fx->web, 0755), 0);
    snprintf (path, sizeof path, "%s/index.html", fx->web);
    FILE *file = fopen (path, "w");
    fputs ("<!doctype html><title>dashboard</title>\n", file);
    fclose (file);
    snprintf (path, sizeof path, "%s/app.js", fx->web);
    file = fopen (path, "w");
    fputs ("console.log ('zflow');\n", file);
    fclose (file);
    fx->port = zf_stack_gateway (&fx->stack, "--token", S_TOKEN, "--web", fx->web, NULL);
    assert_true (fx->port > 0);
    snprintf (fx->origin, sizeof fx->origin, "http://127.0.0.1:%d", fx->port);
    fx->browsers = browsers_new ();
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    if (!fx) return 0;
    browsers_destroy (&fx->browsers);
    //  Every gateway must exit cleanly: no sanitizer report, no leak.
    int rc = zf_stack_stop (&fx->stack);
    free (fx);
    return rc;
}

static void
test_snapshot_and_updates (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (a, "snapshot", 1);
    assert_int_equal (model_count (a->model, "hello"), 1);
    assert_int_equal (a->protocol_errors, 0);
    size_t size = 0;
    msgpack_unpacked hello;
    const uint8_t *data = model_last (a->model, "hello", &size);
    assert_true (mp_parse (data, size, &hello));
    assert_int_equal (mp_int (&hello.data, "version", 0), 1);
    assert_true (mp_bool (&hello.data, "read_only_open", false));
    assert_true (mp_bool (&hello.data, "actions_need_token", false));
    msgpack_unpacked_destroy (&hello);

    //  A flow and a run: the browser sees both come, then the run end.
    assert_int_equal (zf_stack_submit (&fx->stack, s_flow), 0);
    assert_int_equal (zf_stack_start_run (&fx->stack, "gw", "2026-11-23"), 0);
    s_await_run (a, "gw", "2026-11-23", "succeeded");
    assert_true (model_has_flow (a->model, "gw"));
    assert_true (model_count (a->model, "update") >= 1);
    assert_int_equal (model_task_count (a->model, "gw", "2026-11-23"), 4);
    const char *tasks[] = {"start", "prep", "fan", "shell"};
    for (int i = 0; i < 4; i++)
        assert_string_equal (model_task_state (a->model, "gw", "2026-11-23", tasks[i]),
                             "succeeded");
    uint64_t seq = model_seq (a->model);
    assert_true (seq > 0);

    //  A browser that comes later gets it all in its snapshot.
    browser_t *b = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (b, "snapshot", 1);
    assert_string_equal (model_run_state (b->model, "gw", "2026-11-23"), "succeeded");
    assert_string_equal (model_task_state (b->model, "gw", "2026-11-23", "fan"), "succeeded");
    assert_int_equal (b->protocol_errors, 0);
}

static void
test_actions (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    //  No token, a wrong one: refused without reaching the registry.
    browser_request (a, "reply", "t", "s:action", "id", "i:11", "action", "s:pause", "flow", "s:gw",
                     NULL);
    assert_string_equal (browser_reply (a, 11, false), "token required");
    browser_request (a, "reply", "t", "s:action", "id", "i:12", "action", "s:pause", "flow", "s:gw",
                     "token", "s:wrong", NULL);
    assert_string_equal (browser_reply (a, 12, false), "token required");
    assert_false (model_flow_paused (a->model, "gw"));

    //  With the token: relayed, answered, and the views show it.
    browser_request (a, "reply", "t", "s:action", "id", "i:13", "action", "s:pause", "flow", "s:gw",
                     "token", "s:" S_TOKEN, NULL);
    browser_reply (a, 13, true);
    int updates = model_count (a->model, "update");
    while (!model_flow_paused (a->model, "gw"))
        browser_await (a, "update", ++updates);
    browser_request (a, "reply", "t", "s:action", "id", "i:14", "action", "s:resume", "flow",
                     "s:gw", "token", "s:" S_TOKEN, NULL);
    browser_reply (a, 14, true);

    //  The registry's refusal comes back as the message.
    browser_request (a, "reply", "t", "s:action", "id", "i:15", "action", "s:retry", "flow", "s:gw",
                     "date", "s:2026-11-23", "task", "s:nosuchtask", "token", "s:" S_TOKEN, NULL);
    const char *message = browser_reply (a, 15, false);
    assert_true (strlen (message) > 0);
    assert_null (strstr (message, "token"));
}

static void
test_reads (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    browser_request (a, "shards", "t", "s:shards", "id", "i:21", "flow", "s:gw", "date",
                     "s:2026-11-23", "task", "s:fan", NULL);
    size_t size = 0;
    const uint8_t *data = model_last (a->model, "shards", &size);
    msgpack_unpacked msg;
    assert_true (mp_parse (data, size, &msg));
    assert_int_equal (mp_int (&msg.data, "id", 0), 21);
    assert_true (mp_key_is (&msg.data, "task", "fan"));
    const msgpack_object *shards = mp_get (&msg.data, "shards");
    assert_int_equal (shards->via.array.size, 3);
    assert_true (mp_key_is (&shards->via.array.ptr[1], "key", "beta"));
    assert_true (mp_key_is (&shards->via.array.ptr[1], "state", "succeeded"));
    msgpack_unpacked_destroy (&msg);

    browser_request (a, "history", "t", "s:history", "id", "i:22", "flow", "s:gw", NULL);
    data = model_last (a->model, "history", &size);
    assert_true (mp_parse (data, size, &msg));
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_true (runs->via.array.size >= 1);
    assert_true (mp_key_is (&runs->via.array.ptr[0], "date", "2026-11-23"));
    assert_true (mp_key_is (&runs->via.array.ptr[0], "state", "succeeded"));
    msgpack_unpacked_destroy (&msg);

    browser_request (a, "logs", "t", "s:logs", "id", "i:23", "flow", "s:gw", "date", "s:2026-11-23",
                     "task", "s:shell", NULL);
    data = model_last (a->model, "logs", &size);
    assert_true (mp_parse (data, size, &msg));
    assert_int_equal (mp_int (&msg.data, "id", 0), 23);
    char text[256];
    assert_non_null (strstr (mp_text (&msg.data, "text", text, sizeof text), "hello from shell"));
    msgpack_unpacked_destroy (&msg);

    //  A request about what is not there gets a reply, not silence.
    browser_request (a, "reply", "t", "s:shards", "id", "i:24", "flow", "s:gw", "date",
                     "s:2026-11-23", "task", "s:nosuchtask", NULL);
    browser_reply (a, 24, false);
}

static void
test_bad_input (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    browser_t *noisy = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_t *huge = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (noisy, "snapshot", 1);
    browser_await (huge, "snapshot", 1);

    //  A text frame, then garbage: each answered, until the tenth closes.
    ws_send (noisy->conn, "{\"t\":\"history\"}", 15, false);
    browser_await (noisy, "reply", 1);
    browser_reply (noisy, 0, false);
    static const uint8_t garbage[] = {0xc1, 0xff, 0x00};
    ws_send (noisy->conn, garbage, sizeof garbage, true);
    browser_await (noisy, "reply", 2);
    char buf[256];
    size_t size = mp_build (buf, sizeof buf, "t", "s:explode", "id", "i:31", NULL);
    ws_send (noisy->conn, buf, size, true);
    browser_await (noisy, "reply", 3);
    assert_non_null (strstr (browser_reply (noisy, 31, false), "unknown"));
    for (int i = 3; i < 10; i++)
        ws_send (noisy->conn, garbage, sizeof garbage, true);
    assert_true (browser_wait (noisy, s_closed, noisy->conn));
    assert_int_equal (ws_close_code (noisy->conn), 1008);

    //  A 2 MiB frame closes its connection.
    size_t big = 2 * 1024 * 1024;
    uint8_t *bytes = calloc (1, big);
    bytes[0] = 0x81;
    ws_send (huge->conn, bytes, big, true);
    free (bytes);
    assert_true (browser_wait (huge, s_closed, huge->conn));
    //  The close frame may be lost to a reset while the client still sends.
    assert_true (ws_close_code (huge->conn) == 1009 || ws_close_code (huge->conn) == 0);

    //  The others go on: a new run reaches the first browser.
    assert_int_equal (zf_stack_start_run (&fx->stack, "gw", "2026-11-20"), 0);
    s_await_run (a, "gw", "2026-11-20", "succeeded");
    assert_int_equal (ws_state (a->conn), WS_OPEN);
    assert_int_equal (a->protocol_errors, 0);
    assert_true (browser_metric (fx->port, "zflow_gateway_bad_frames_total") >= 11);
    //  The limits the noisy and the huge browser hit are counted.
    assert_true (browser_metric (fx->port, "zflow_gateway_limit_hits_total"
                                           "{limit=\"ZF_GW_MAX_BAD_FRAMES\"}") >= 1);
    assert_true (browser_metric (fx->port, "zflow_gateway_limit_hits_total"
                                           "{limit=\"ZF_GW_MAX_FRAME_IN\"}") >= 1);
}

//  An upgrade request for path with the headers given (each ending in CRLF).
static int
s_upgrade (int port, const char *path, const char *headers)
{
    char request[2048];
    snprintf (request, sizeof request,
              "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n%s\r\n",
              path, port, headers);
    return ws_http_status (port, request);
}

static void
test_http_and_origin (void **state)
{
    fixture_t *fx = *state;
    char headers[256];
    snprintf (headers, sizeof headers, "Sec-WebSocket-Protocol: zflow.v1\r\nOrigin: %s\r\n",
              fx->origin);
    assert_int_equal (s_upgrade (fx->port, "/ws", headers), 101);
    char localhost[256];
    snprintf (localhost, sizeof localhost,
              "Sec-WebSocket-Protocol: zflow.v1\r\nOrigin: http://localhost:%d\r\n", fx->port);
    assert_int_equal (s_upgrade (fx->port, "/ws", localhost), 101);
    assert_int_equal (s_upgrade (fx->port, "/ws",
                                 "Sec-WebSocket-Protocol: zflow.v1\r\n"
                                 "Origin: http://evil.example\r\n"),
                      403);
    assert_int_equal (s_upgrade (fx->port, "/ws",
                                 "Sec-WebSocket-Protocol: zflow.v1\r\n"
                                 "Origin: http://127.0.0.1\r\n"),
                      403);
    assert_int_equal (s_upgrade (fx->port, "/ws", "Sec-WebSocket-Protocol: chat\r\n"), 400);
    assert_int_equal (s_upgrade (fx->port, "/elsewhere", "Sec-WebSocket-Protocol: zflow.v1\r\n"),
                      404);

    //  The port is taken: one line, status 1. Bad usage: status 2.
    char http[32], line[512];
    snprintf (http, sizeof http, "127.0.0.1:%d", fx->port);
    assert_int_equal (zf_stack_gateway_exit (&fx->stack, line, sizeof line, "--http", http, NULL),
                      1);
    assert_non_null (strstr (line, "zflow-gateway: cannot listen on"));
    assert_int_equal (zf_stack_gateway_exit (&fx->stack, line, sizeof line, "--http", "nope", NULL),
                      2);
    assert_int_equal (
        zf_stack_gateway_exit (&fx->stack, line, sizeof line, "--read-only", "closed", NULL), 2);
    assert_int_equal (
        zf_stack_gateway_exit (&fx->stack, line, sizeof line, "--max-lag", "-1", NULL), 2);
    assert_non_null (strstr (line, "--max-lag takes 0 to"));

    //  Every run ended and was seen: in step, nothing behind.
    browser_health (fx->port, 200, "ok lag_events=0\n");
    char *body = NULL;
    assert_int_equal (ws_http_get (fx->port, "/metrics", &body), 200);
    const char *families[] = {"zflow_tasks{state=\"succeeded\"}",
                              "zflow_registry_seq ",
                              "zflow_dispatch_latency_seconds_count ",
                              "zflow_archiver_lag_events ",
                              "# TYPE zflow_gateway_lag_events gauge",
                              "zflow_gateway_lag_events 0\n",
                              "zflow_gateway_synced 1\n",
                              "zflow_gateway_clients ",
                              "zflow_gateway_resyncs_total ",
                              "zflow_gateway_bad_frames_total ",
                              "zflow_gateway_dropped_total{what=\"views\"} ",
                              "zflow_gateway_limit_hits_total{limit=\"ZF_GW_MAX_HANDOVER\"} ",
                              "# TYPE zflow_bus_errors_total counter",
                              "zflow_executors{state=\"live\"}",
                              "zflow_executors{state=\"lost\"}"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (!strstr (body, families[i])) fail_msg ("/metrics lacks %s", families[i]);
    //  The runs of the earlier tests ran their noop shards.
    unsigned long count = 0;
    const char *found = strstr (body, "zflow_dispatch_latency_seconds_count ");
    sscanf (found, "zflow_dispatch_latency_seconds_count %lu", &count);
    assert_true (count > 0);
    free (body);

    assert_int_equal (ws_http_get (fx->port, "/", &body), 200);
    assert_non_null (strstr (body, "dashboard"));
    free (body);
    assert_int_equal (ws_http_get (fx->port, "/app.js", &body), 200);
    free (body);
    assert_int_equal (ws_http_get (fx->port, "/nothing.js", &body), 404);
    free (body);
    //  A raw request that climbs out of the web folder.
    char request[256];
    snprintf (request, sizeof request, "GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    int status = ws_http_status (fx->port, request);
    assert_true (status == 404 || status == 400 || status == 403);
    snprintf (request, sizeof request,
              "GET /%%2e%%2e/%%2e%%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    status = ws_http_status (fx->port, request);
    assert_true (status == 404 || status == 400 || status == 403);
}

static void
test_not_built_and_closed (void **state)
{
    fixture_t *fx = *state;
    //  No web folder: a page says so, /metrics still works.
    int port = zf_stack_gateway (&fx->stack, "--web", "/nonexistent/zflow-web", NULL);
    assert_true (port > 0);
    char *body = NULL;
    assert_int_equal (ws_http_get (port, "/", &body), 200);
    assert_non_null (strstr (body, "not built"));
    free (body);
    assert_int_equal (ws_http_get (port, "/metrics", &body), 200);
    assert_non_null (strstr (body, "zflow_gateway_clients "));
    free (body);

    //  Viewing closed: the upgrade needs the token.
    port = zf_stack_gateway (&fx->stack, "--token", S_TOKEN, "--read-only", "closed", NULL);
    assert_true (port > 0);
    assert_int_equal (s_upgrade (port, "/ws", "Sec-WebSocket-Protocol: zflow.v1\r\n"), 403);
    assert_int_equal (s_upgrade (port, "/ws?token=wrong", "Sec-WebSocket-Protocol: zflow.v1\r\n"),
                      403);
    browser_t *viewer = browsers_connect (fx->browsers, port, "/ws?token=" S_TOKEN);
    browser_await (viewer, "snapshot", 1);
    size_t size = 0;
    const uint8_t *data = model_last (viewer->model, "hello", &size);
    msgpack_unpacked hello;
    assert_true (mp_parse (data, size, &hello));
    assert_false (mp_bool (&hello.data, "read_only_open", true));
    msgpack_unpacked_destroy (&hello);
    assert_string_equal (model_run_state (viewer->model, "gw", "2026-11-23"), "succeeded");
}

//  The flow gw is no longer held.
static bool
s_flow_gone (void *arg)
{
    browser_t *client = arg;
    return model_count (client->model, "snapshot") > 1 && !model_has_flow (client->model, "gw");
}

static void
test_registry_restart (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    assert_true (model_has_flow (a->model, "gw"));
    //  A registry without its state starts a new history: the gateway
    //  takes a fresh snapshot and sends every browser a new one.
    assert_int_equal (zf_stack_restart_registry (&fx->stack), 0);
    assert_true (browser_wait (a, s_flow_gone, a));
    //  ... and follows the new history from there.
    assert_int_equal (zf_stack_submit (&fx->stack, s_flow), 0);
    assert_int_equal (zf_stack_start_run (&fx->stack, "gw", "2026-11-23"), 0);
    s_await_run (a, "gw", "2026-11-23", "succeeded");
    assert_int_equal (a->protocol_errors, 0);
    //  The probe outstanding when the registry went may have been lost with
    //  it: healthy once the new one answers, and nothing behind.
    browser_health (fx->port, 200, "ok lag_events=0\n");
    assert_true (browser_metric (fx->port, "zflow_gateway_resyncs_total") >= 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_snapshot_and_updates),
        cmocka_unit_test (test_actions),
        cmocka_unit_test (test_reads),
        cmocka_unit_test (test_bad_input),
        cmocka_unit_test (test_http_and_origin),
        cmocka_unit_test (test_not_built_and_closed),
        cmocka_unit_test (test_registry_restart),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
