/*  zflow-gateway as a process against a registry simulated in the test
    (tests/sim/sim_registry.h) that archives runs: the RUN archived event
    reaching the browsers (the run flagged, its tasks dropped, /metrics
    counting it), a later browser's snapshot and a gateway started
    afterwards listing the archived runs without tasks, history marking
    them, a run_status request relayed to the registry's STATUS and answered
    with every task, and the refusals: missing flow or date, unknown flow, a
    date without a run, the archive unavailable, shards and actions of an
    archived run. Every wait is for something the gateway sends, with a
    deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browser.h"
#include "model.h"
#include "mp.h"
#include "sim_registry.h"
#include "zf_stack.h"
#include "wsclient.h"
#include "zf_common.h"
#include "zf_proto.h"

//  The gateway's token.
#define S_TOKEN "archive-token"

static const char *s_flow = "flow: arch\n"
                            "calendar:\n"
                            "  weekdays: [mon, tue, wed, thu, fri, sat, sun]\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: load\n"
                            "    after: [start]\n"
                            "    run: ./load.sh\n"
                            "  - id: fan\n"
                            "    after: [load]\n"
                            "    shards: [north, south]\n"
                            "    run: ./fan.sh\n";

//  The simulated registry, the gateways, the browsers.
typedef struct {
    sim_registry_t *registry; //  engine, events, archive
    zf_stack_t stack;         //  the gateways started against it
    int port;                 //  the main gateway's HTTP port
    browsers_t *browsers;     //  the browsers and their pool
    char dates[3][16];        //  the three dates run, oldest first
} fixture_t;

//  A run to wait for.
typedef struct {
    browser_t *client; //  whose state
    const char *flow;  //  a run of flow on date
    const char *date;  //  that is archived, without tasks
} s_wait_t;

static bool
s_archived (void *arg)
{
    s_wait_t *wait = arg;
    return model_run_archived (wait->client->model, wait->flow, wait->date) &&
           model_task_count (wait->client->model, wait->flow, wait->date) == 0;
}

//  The run of flow on date in a snapshot or update message, or NULL.
static const msgpack_object *
s_find_run (const msgpack_object *msg, const char *flow, const char *date)
{
    const msgpack_object *runs = mp_get (msg, "runs");
    for (uint32_t i = 0; runs && i < runs->via.array.size; i++)
        if (mp_key_is (&runs->via.array.ptr[i], "flow", flow) &&
            mp_key_is (&runs->via.array.ptr[i], "date", date))
            return &runs->via.array.ptr[i];
    return NULL;
}

//  Checks a browser's snapshot: the two older runs archived without
//  tasks, the latest with its three.
static void
s_check_snapshot (fixture_t *fx, browser_t *client)
{
    assert_int_equal (model_count (client->model, "snapshot"), 1);
    for (int i = 0; i < 2; i++) {
        assert_true (model_run_archived (client->model, "arch", fx->dates[i]));
        assert_int_equal (model_task_count (client->model, "arch", fx->dates[i]), 0);
        assert_string_equal (model_run_state (client->model, "arch", fx->dates[i]), "succeeded");
    }
    assert_false (model_run_archived (client->model, "arch", fx->dates[2]));
    assert_int_equal (model_task_count (client->model, "arch", fx->dates[2]), 3);
    assert_int_equal (client->protocol_errors, 0);
}

//  The snapshot a browser gets as raw bytes: connects one that keeps them.
typedef struct {
    uint8_t *data; //  the first snapshot's bytes
    size_t size;   //  their count
} s_raw_t;

static void
s_on_raw (ws_conn_t *conn, const uint8_t *data, size_t size, bool binary, void *arg)
{
    s_raw_t *raw = arg;
    msgpack_unpacked msg;
    if (raw->data || !mp_parse (data, size, &msg)) return;
    if (mp_key_is (&msg.data, "t", "snapshot")) {
        raw->data = malloc (size);
        memcpy (raw->data, data, size);
        raw->size = size;
    }
    msgpack_unpacked_destroy (&msg);
}

static bool
s_raw_done (void *arg)
{
    return ((s_raw_t *)arg)->data != NULL;
}

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    *state = fx;
    fx->registry = sim_registry_new ();
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    zf_date_t today = sim_registry_today (fx->registry);
    for (int i = 0; i < 3; i++) {
        zf_date_t date = today - 2 + i;
        zf_date_format (date, fx->dates[i], sizeof fx->dates[i]);
        assert_int_equal (sim_registry_start (fx->registry, "arch", date), 0);
    }
    //  start, load and two shards of fan, per date.
    assert_int_equal (sim_registry_run_all (fx->registry, NULL), 3 * 3);
    assert_int_equal (zf_stack_attach (&fx->stack, sim_registry_endpoint (fx->registry)), 0);
    fx->port = zf_stack_gateway (&fx->stack, "--token", S_TOKEN, NULL);
    assert_true (fx->port > 0);
    fx->browsers = browsers_new ();
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    browsers_destroy (&fx->browsers);
    int rc = zf_stack_stop (&fx->stack);
    sim_registry_destroy (&fx->registry);
    free (fx);
    //  Every gateway must have ended cleanly (no sanitizer report).
    return rc;
}

static void
test_archived_event_reaches_browsers (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (a, "snapshot", 1);
    for (int i = 0; i < 3; i++) {
        assert_string_equal (model_run_state (a->model, "arch", fx->dates[i]), "succeeded");
        assert_int_equal (model_task_count (a->model, "arch", fx->dates[i]), 3);
        assert_false (model_run_archived (a->model, "arch", fx->dates[i]));
    }
    assert_int_equal (browser_metric (fx->port, "zflow_runs_archived"), 0);

    //  The registry keeps the latest run of the flow: the two before go.
    assert_int_equal (sim_registry_archive_runs (fx->registry, 1), 2);
    for (int i = 0; i < 2; i++) {
        s_wait_t wait = {a, "arch", fx->dates[i]};
        if (!browser_wait (a, s_archived, &wait))
            fail_msg ("the run of %s is not shown archived without tasks", fx->dates[i]);
        assert_string_equal (model_run_state (a->model, "arch", fx->dates[i]), "succeeded");
    }
    assert_false (model_run_archived (a->model, "arch", fx->dates[2]));
    assert_int_equal (model_task_count (a->model, "arch", fx->dates[2]), 3);
    assert_int_equal (a->protocol_errors, 0);

    //  The browser saw the update, so the views that made it are applied:
    //  archived runs count no tasks any more.
    assert_int_equal (browser_metric (fx->port, "zflow_runs_archived"), 2);
    assert_int_equal (browser_metric (fx->port, "zflow_runs"), 3);
    char *body = NULL;
    assert_int_equal (ws_http_get (fx->port, "/metrics", &body), 200);
    long tasks = 0;
    for (const char *line = strstr (body, "\nzflow_tasks{"); line;
         line = strstr (line + 1, "\nzflow_tasks{")) {
        const char *value = strchr (line, '}');
        tasks += strtol (value + 1, NULL, 10);
    }
    free (body);
    assert_int_equal (tasks, 3);
    //  The replica is still in step: no event of it was refused.
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
}

static void
test_snapshots_list_archived_runs (void **state)
{
    fixture_t *fx = *state;
    //  A browser that comes later.
    browser_t *b = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (b, "snapshot", 1);
    s_check_snapshot (fx, b);

    //  The snapshot as bytes: "archived": true and an empty task list on
    //  an archived run, no "archived" key on the others.
    s_raw_t raw = {NULL, 0};
    ws_pool_t *pool = browsers_pool (fx->browsers);
    char origin[64];
    snprintf (origin, sizeof origin, "127.0.0.1:%d", fx->port);
    assert_non_null (ws_connect (pool, fx->port, "/ws", origin, "zflow.v1", s_on_raw, &raw));
    assert_true (ws_pool_run (pool, s_raw_done, &raw, BROWSER_WAIT_MS));
    msgpack_unpacked msg;
    assert_true (mp_parse (raw.data, raw.size, &msg));
    const msgpack_object *old = s_find_run (&msg.data, "arch", fx->dates[0]);
    assert_non_null (old);
    assert_true (mp_has_keys (old, "flow", "date", "version", "state", "paused", "started", "ended",
                              "archived", "tasks", NULL));
    assert_true (mp_bool (old, "archived", false));
    assert_true (mp_key_is (old, "state", "succeeded"));
    assert_true (mp_int (old, "ended", 0) > 0);
    assert_int_equal (mp_get (old, "tasks")->via.array.size, 0);
    const msgpack_object *latest = s_find_run (&msg.data, "arch", fx->dates[2]);
    assert_non_null (latest);
    assert_null (mp_get (latest, "archived"));
    assert_int_equal (mp_get (latest, "tasks")->via.array.size, 3);
    msgpack_unpacked_destroy (&msg);
    free (raw.data);

    //  A gateway started now restores the archived runs from the
    //  registry's snapshot (open, succeeded, archived; no task events).
    int port = zf_stack_gateway (&fx->stack, NULL);
    assert_true (port > 0);
    browser_t *c = browsers_connect (fx->browsers, port, "/ws");
    browser_await (c, "snapshot", 1);
    s_check_snapshot (fx, c);
    assert_int_equal (browser_metric (port, "zflow_runs_archived"), 2);
    //  In step once the registry answered its first probe too.
    browser_health (port, 200, "ok lag_events=0\n");
    assert_int_equal (browser_metric (port, "zflow_gateway_synced"), 1);

    //  History marks the archived dates, newest first.
    browser_request (c, "history", "t", "s:history", "id", "i:5", "flow", "s:arch", NULL);
    size_t got = 0;
    const uint8_t *data = model_last (c->model, "history", &got);
    assert_true (mp_parse (data, got, &msg));
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_int_equal (runs->via.array.size, 3);
    assert_true (mp_key_is (&runs->via.array.ptr[0], "date", fx->dates[2]));
    assert_null (mp_get (&runs->via.array.ptr[0], "archived"));
    for (int i = 1; i < 3; i++) {
        assert_true (mp_bool (&runs->via.array.ptr[i], "archived", false));
        assert_true (mp_key_is (&runs->via.array.ptr[i], "state", "succeeded"));
    }
    msgpack_unpacked_destroy (&msg);
}

static void
test_run_status_relayed (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    int before = sim_registry_requests (fx->registry, ZF_BODY_STATUS);
    char spec[32];
    snprintf (spec, sizeof spec, "s:%s", fx->dates[0]);
    browser_request (a, "run_status", "t", "s:run_status", "id", "i:41", "flow", "s:arch", "date",
                     spec, NULL);
    assert_int_equal (sim_registry_requests (fx->registry, ZF_BODY_STATUS), before + 1);

    size_t got = 0;
    const uint8_t *data = model_last (a->model, "run_status", &got);
    msgpack_unpacked msg;
    assert_true (mp_parse (data, got, &msg));
    assert_true (mp_has_keys (&msg.data, "t", "id", "flow", "date", "run", NULL));
    assert_int_equal (mp_int (&msg.data, "id", 0), 41);
    assert_true (mp_key_is (&msg.data, "flow", "arch"));
    assert_true (mp_key_is (&msg.data, "date", fx->dates[0]));
    const msgpack_object *run = mp_get (&msg.data, "run");
    assert_true (mp_key_is (run, "state", "succeeded"));
    assert_true (mp_key_is (run, "date", fx->dates[0]));
    const msgpack_object *tasks = mp_get (run, "tasks");
    assert_int_equal (tasks->via.array.size, 3);
    const char *ids[] = {"start", "load", "fan"};
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *task = &tasks->via.array.ptr[i];
        assert_true (mp_is_taskview (task));
        assert_true (mp_key_is (task, "id", ids[i]));
        char name[32];
        mp_text (task, "state", name, sizeof name);
        assert_true (strcmp (name, "succeeded") == 0 || strcmp (name, "confirmed") == 0);
        assert_int_equal (mp_int (task, "shards_done", 0), mp_int (task, "shards_total", 0));
    }
    //  An unsharded task counts as one shard; the sharded one has its two.
    assert_int_equal (mp_int (&tasks->via.array.ptr[1], "shards_total", 0), 1);
    assert_true (mp_key_is (&tasks->via.array.ptr[1], "executor", "ex-1"));
    assert_int_equal (mp_int (&tasks->via.array.ptr[2], "shards_total", 0), 2);
    assert_int_equal (mp_int (&tasks->via.array.ptr[2], "shards_running", 1), 0);
    msgpack_unpacked_destroy (&msg);

    //  A run still held answers the same way, from the registry's engine.
    snprintf (spec, sizeof spec, "s:%s", fx->dates[2]);
    browser_request (a, "run_status", "t", "s:run_status", "id", "i:42", "flow", "s:arch", "date",
                     spec, NULL);
    data = model_last (a->model, "run_status", &got);
    assert_true (mp_parse (data, got, &msg));
    assert_int_equal (mp_int (&msg.data, "id", 0), 42);
    assert_int_equal (mp_get (mp_get (&msg.data, "run"), "tasks")->via.array.size, 3);
    msgpack_unpacked_destroy (&msg);

    //  The browser's own view of the archived run is unchanged: no tasks.
    assert_int_equal (model_task_count (a->model, "arch", fx->dates[0]), 0);
    assert_int_equal (a->protocol_errors, 0);
}

static void
test_run_status_refused (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_at (fx->browsers, 0);
    char spec[32];
    snprintf (spec, sizeof spec, "s:%s", fx->dates[0]);

    //  Malformed: answered by the gateway itself.
    browser_request (a, "reply", "t", "s:run_status", "id", "i:51", "date", spec, NULL);
    assert_string_equal (browser_reply (a, 51, false), "flow: missing");
    browser_request (a, "reply", "t", "s:run_status", "id", "i:52", "flow", "s:arch", NULL);
    assert_string_equal (browser_reply (a, 52, false), "date: missing");
    browser_request (a, "reply", "t", "s:run_status", "id", "i:53", "flow", "s:arch", "date", "n",
                     NULL);
    assert_string_equal (browser_reply (a, 53, false), "date: missing");

    //  Refused by the registry, its text relayed.
    int before = sim_registry_requests (fx->registry, ZF_BODY_STATUS);
    browser_request (a, "reply", "t", "s:run_status", "id", "i:54", "flow", "s:nosuch", "date",
                     spec, NULL);
    assert_non_null (strstr (browser_reply (a, 54, false), "no flow nosuch"));
    browser_request (a, "reply", "t", "s:run_status", "id", "i:55", "flow", "s:arch", "date",
                     "s:2001-01-01", NULL);
    assert_non_null (strstr (browser_reply (a, 55, false), "has no run on 2001-01-01"));
    assert_int_equal (sim_registry_requests (fx->registry, ZF_BODY_STATUS), before + 2);

    //  The archive cannot answer: the registry says so, the browser hears it.
    sim_registry_archive_down (fx->registry, true);
    browser_request (a, "reply", "t", "s:run_status", "id", "i:56", "flow", "s:arch", "date", spec,
                     NULL);
    assert_non_null (strstr (browser_reply (a, 56, false), "archive did not answer"));
    sim_registry_archive_down (fx->registry, false);

    //  An archived run's shards are not held; its tasks take no action.
    browser_request (a, "reply", "t", "s:shards", "id", "i:57", "flow", "s:arch", "date", spec,
                     "task", "s:fan", NULL);
    assert_non_null (strstr (browser_reply (a, 57, false), "archived"));
    browser_request (a, "reply", "t", "s:action", "id", "i:58", "action", "s:retry", "flow",
                     "s:arch", "date", spec, "task", "s:load", "token", "s:" S_TOKEN, NULL);
    assert_non_null (strstr (browser_reply (a, 58, false), "archived"));

    //  The connection stays, and the runs are as they were.
    assert_int_equal (ws_state (a->conn), WS_OPEN);
    assert_true (model_run_archived (a->model, "arch", fx->dates[0]));
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_archived_event_reaches_browsers),
        cmocka_unit_test (test_snapshots_list_archived_runs),
        cmocka_unit_test (test_run_status_relayed),
        cmocka_unit_test (test_run_status_refused),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
