/*  zflow-gateway's --serve against a registry simulated in the test
    (tests/sim/sim_registry.h): once in step, PING answers with the seq of
    the last event the replica holds and SNAPSHOT with a state that folds
    into an engine equal to the registry's (same digest, same seq); any
    other request is refused as not served. A registry starting cold asks
    this for the freshest copy (services/registry/recover.c), and it is
    answered at once while the gateway waits on a registry that does not
    answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browser.h"
#include "sim_registry.h"
#include "zf_clock.h"
#include "zf_engine.h"
#include "zf_proc.h"
#include "zf_regclient.h"
#include "zf_stack.h"

#define S_WAIT_MS 10000

//  Folds a SNAPSHOT reply's parts into a new engine on clock.
static zf_engine_t *
s_fold (zf_regclient_t *client, zf_reg_reply_t *reply, zf_clock_t *clock)
{
    zf_engine_t *engine = zf_engine_new (clock);
    assert_non_null (engine);
    assert_int_equal (zf_engine_restore_begin (engine), 0);
    for (;;) {
        assert_int_equal (reply->type, ZF_BODY_EVENTS_REPLY);
        for (size_t i = 0; i < reply->event_count; i++) {
            assert_int_equal (reply->events[i].seq, 0);
            assert_int_equal (zf_engine_apply (engine, &reply->events[i]), 0);
        }
        if (reply->part >= reply->parts) break;
        assert_int_equal (zf_regclient_next (client, reply, S_WAIT_MS), 0);
    }
    assert_int_equal (zf_engine_restore_end (engine, reply->seq), 0);
    return engine;
}

static void
test_the_replica_serves_its_copy (void **state)
{
    static const char *flow = "flow: serve\n"
                              "calendar: {weekdays: [mon, tue, wed, thu, fri, sat, sun]}\n"
                              "tasks:\n"
                              "  - {id: start, type: start}\n"
                              "  - {id: load, after: [start], run: ./load.sh}\n"
                              "  - {id: fan, after: [load], shards: [east, west], run: ./fan.sh}\n";
    sim_registry_t *registry = sim_registry_new ();
    assert_int_equal (sim_registry_submit (registry, flow), 1);
    zf_date_t today = sim_registry_today (registry);
    assert_int_equal (sim_registry_start (registry, "serve", today - 2), 0);
    assert_int_equal (sim_registry_run_all (registry, NULL), 3);
    assert_int_equal (sim_registry_start (registry, "serve", today - 1), 0);

    char serve[64];
    snprintf (serve, sizeof serve, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    zf_stack_t stack;
    assert_int_equal (zf_stack_attach (&stack, sim_registry_endpoint (registry)), 0);
    int port = zf_stack_gateway (&stack, "--serve", serve, NULL);
    assert_true (port > 0);
    browser_health (port, 200, "ok lag_events=0\n");

    zf_regclient_t *client = zf_regclient_new (serve);
    assert_non_null (client);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_true (reply.has_number);
    assert_int_equal (reply.number, sim_registry_seq (registry));

    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    zf_clock_t *clock = zf_clock_new_real ();
    zf_engine_t *copy = s_fold (client, &reply, clock);
    assert_int_equal (zf_engine_seq (copy), sim_registry_seq (registry));
    assert_int_equal (zf_engine_digest (copy), sim_registry_digest (registry));
    zf_engine_destroy (&copy);
    zf_clock_destroy (&clock);

    //  What only a registry answers is refused, by name.
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    assert_non_null (strstr (reply.text, "not served by the gateway's replica"));

    //  The registry goes, and one that takes connections but does not
    //  answer (a registry starting cold, asking the gateway) comes in its
    //  place: the gateway asks it for a snapshot and waits, and its copy is
    //  still served meanwhile, at once.
    uint64_t seq = sim_registry_seq (registry);
    uint64_t digest = sim_registry_digest (registry);
    int registry_port = atoi (strrchr (sim_registry_endpoint (registry), ':') + 1);
    sim_registry_destroy (&registry);
    zsock_t *mute = zsock_new (ZMQ_ROUTER);
    zsock_t *mute_pub = zsock_new (ZMQ_PUB);
    //  The old sockets' listeners close in ZeroMQ's own thread, a moment later.
    int bound = -1;
    for (int tries = 0; tries < 50 && bound < 0; tries++) {
        bound = zsock_bind (mute, "tcp://127.0.0.1:%d", registry_port);
        if (bound < 0) zclock_sleep (100);
    }
    assert_int_equal (bound, registry_port);
    bound = -1;
    for (int tries = 0; tries < 50 && bound < 0; tries++) {
        bound = zsock_bind (mute_pub, "tcp://127.0.0.1:%d", registry_port + 1);
        if (bound < 0) zclock_sleep (100);
    }
    assert_int_equal (bound, registry_port + 1);
    bool asked = false;
    zpoller_t *poller = zpoller_new (mute, NULL);
    for (int64_t until = zclock_mono () + S_WAIT_MS; !asked && zclock_mono () < until;) {
        if (!zpoller_wait (poller, 500)) continue;
        zmsg_t *msg = zmsg_recv (mute);
        zframe_t *body = zmsg_last (msg);
        zf_proto_decoder_t *dec = zf_proto_decoder_new ();
        zf_reg_request_t asked_for;
        zf_proto_error_t err;
        asked = zf_reg_request_decode (dec, zframe_data (body), zframe_size (body), &asked_for,
                                       &err) == 0 &&
                asked_for.type == ZF_BODY_SNAPSHOT;
        zf_proto_decoder_destroy (&dec);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    assert_true (asked);
    int64_t start = zclock_mono ();
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, 1000), 0);
    assert_true (zclock_mono () - start < 1000);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_int_equal (reply.number, seq);
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, 1000), 0);
    clock = zf_clock_new_real ();
    copy = s_fold (client, &reply, clock);
    assert_int_equal (zf_engine_seq (copy), seq);
    assert_int_equal (zf_engine_digest (copy), digest);
    zf_engine_destroy (&copy);
    zf_clock_destroy (&clock);

    zf_regclient_destroy (&client);
    assert_int_equal (zf_stack_stop (&stack), 0);
    zsock_destroy (&mute);
    zsock_destroy (&mute_pub);
}

//  A --serve endpoint that cannot be bound stops the start with one line.
static void
test_a_serve_endpoint_that_cannot_bind (void **state)
{
    zf_stack_t stack;
    assert_int_equal (zf_stack_attach (&stack, "tcp://127.0.0.1:1"), 0);
    char line[512];
    int status =
        zf_stack_gateway_exit (&stack, line, sizeof line, "--serve", "tcp://192.0.2.1:1", NULL);
    assert_int_not_equal (status, 0);
    assert_non_null (strstr (line, "cannot bind --serve tcp://192.0.2.1:1"));
    assert_int_equal (zf_stack_stop (&stack), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_replica_serves_its_copy),
        cmocka_unit_test (test_a_serve_endpoint_that_cannot_bind),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
