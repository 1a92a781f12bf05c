/*  Tests of zf_client: replies, timeouts, failover to the second endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_client.h"

//  A ROUTER that answers "re:" + body, or stays silent when mute.
typedef struct {
    zactor_t *actor;
    char endpoint[64];
} server_t;

static void
s_server (zsock_t *pipe, void *args)
{
    int mute = *(int *)args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (1) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which != router) break;
        zmsg_t *msg = zmsg_recv (router);
        if (!mute) {
            zframe_t *id = zmsg_pop (msg);
            zframe_t *empty = zmsg_pop (msg);
            char *body = zmsg_popstr (msg);
            zmsg_t *reply = zmsg_new ();
            zmsg_append (reply, &id);
            zmsg_append (reply, &empty);
            zmsg_addstrf (reply, "re:%s", body);
            zmsg_send (&reply, router);
            free (body);
        }
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static void
s_server_start (server_t *server, int *mute)
{
    server->actor = zactor_new (s_server, mute);
    char *endpoint = zstr_recv (server->actor);
    snprintf (server->endpoint, sizeof server->endpoint, "%s", endpoint);
    free (endpoint);
}

static void
test_reply (void **state)
{
    int mute = 0;
    server_t server;
    s_server_start (&server, &mute);
    zf_client_t *client = zf_client_new (server.endpoint);
    assert_non_null (client);
    for (int i = 0; i < 3; i++) {
        zframe_t *reply = zf_client_call (client, "ping", 4, 2000);
        assert_non_null (reply);
        assert_true (zframe_streq (reply, "re:ping"));
        zframe_destroy (&reply);
    }
    zf_client_destroy (&client);
    zactor_destroy (&server.actor);
}

static void
test_timeout (void **state)
{
    int mute = 1;
    server_t server;
    s_server_start (&server, &mute);
    zf_client_t *client = zf_client_new (server.endpoint);
    int64_t start = zclock_mono ();
    zframe_t *reply = zf_client_call (client, "ping", 4, 200);
    int64_t took = zclock_mono () - start;
    assert_null (reply);
    assert_true (took >= 190 && took < 2000);
    assert_non_null (strstr (zf_client_error (client), "no answer"));
    zf_client_destroy (&client);
    zactor_destroy (&server.actor);
}

static void
test_failover (void **state)
{
    int mute_a = 1, mute_b = 0;
    server_t a, b;
    s_server_start (&a, &mute_a);
    s_server_start (&b, &mute_b);
    char list[160];
    snprintf (list, sizeof list, "%s,%s", a.endpoint, b.endpoint);
    zf_client_t *client = zf_client_new (list);
    assert_int_equal (zf_client_endpoint_count (client), 2);
    zframe_t *reply = zf_client_call (client, "hello", 5, 1000);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:hello"));
    assert_string_equal (zf_client_endpoint (client), b.endpoint);
    zframe_destroy (&reply);
    //  The next call starts with the endpoint that answered.
    int64_t start = zclock_mono ();
    reply = zf_client_call (client, "again", 5, 1000);
    assert_non_null (reply);
    assert_true (zclock_mono () - start < 400);
    zframe_destroy (&reply);
    zf_client_destroy (&client);
    zactor_destroy (&a.actor);
    zactor_destroy (&b.actor);
}

static void
test_endpoints (void **state)
{
    assert_null (zf_client_new (NULL));
    assert_null (zf_client_new (""));
    assert_null (zf_client_new ("localhost:5570"));
    assert_null (zf_client_new ("tcp://a:1,tcp://b:2,tcp://c:3,tcp://d:4,tcp://e:5"));
    zf_client_t *client = zf_client_new ("tcp://127.0.0.1:5570, tcp://127.0.0.1:5572");
    assert_non_null (client);
    char events[64];
    assert_int_equal (zf_client_events_endpoint (client, 0, events, sizeof events), 0);
    assert_string_equal (events, "tcp://127.0.0.1:5571");
    assert_int_equal (zf_client_events_endpoint (client, 1, events, sizeof events), 0);
    assert_string_equal (events, "tcp://127.0.0.1:5573");
    assert_int_equal (zf_client_events_endpoint (client, 2, events, sizeof events), -1);
    zf_client_destroy (&client);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_reply),
        cmocka_unit_test (test_timeout),
        cmocka_unit_test (test_failover),
        cmocka_unit_test (test_endpoints),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
