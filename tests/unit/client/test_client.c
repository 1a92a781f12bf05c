/*  Tests of zf_client: replies, timeouts, failover to the second endpoint,
    a registry that answers passive (the next one asked at once, rounds
    until one is active), the request whose reply the caller polls for
    itself, and the side socket served while a call waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_client.h"
#include "zf_regapi.h"

//  How a test server answers: not at all when mute; else ERROR passive to
//  its first `passive` requests (-1: to all), then "re:" + body.
typedef struct {
    int mute;
    int passive;
} answers_t;

//  A ROUTER that answers as its mode says.
typedef struct {
    zactor_t *actor;
    char endpoint[64];
} server_t;

//  Sends ERROR passive to identity.
static void
s_send_passive (zsock_t *router, zframe_t **id, zframe_t **empty)
{
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 1);
    reply.code = ZF_ERR_PASSIVE;
    reply.text = "this registry is passive";
    zf_proto_error_t err;
    assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, id);
    zmsg_append (msg, empty);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, router);
    zf_proto_encoder_destroy (&enc);
}

static void
s_server (zsock_t *pipe, void *args)
{
    answers_t mode = *(answers_t *)args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (1) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which != router) break;
        zmsg_t *msg = zmsg_recv (router);
        if (!mode.mute && mode.passive != 0) {
            zframe_t *id = zmsg_pop (msg);
            zframe_t *empty = zmsg_pop (msg);
            s_send_passive (router, &id, &empty);
            if (mode.passive > 0) mode.passive--;
        } else if (!mode.mute) {
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
s_server_start (server_t *server, answers_t *mode)
{
    server->actor = zactor_new (s_server, mode);
    char *endpoint = zstr_recv (server->actor);
    snprintf (server->endpoint, sizeof server->endpoint, "%s", endpoint);
    free (endpoint);
}

//  Two servers answering as a and b say, and the list of their endpoints.
typedef struct {
    answers_t mode[2]; //  a's and b's
    server_t a, b;     //  the servers
    char list[160];    //  "A,B"
} pair_t;

static void
s_pair_start_as (pair_t *pair, answers_t a, answers_t b)
{
    pair->mode[0] = a;
    pair->mode[1] = b;
    s_server_start (&pair->a, &pair->mode[0]);
    s_server_start (&pair->b, &pair->mode[1]);
    snprintf (pair->list, sizeof pair->list, "%s,%s", pair->a.endpoint, pair->b.endpoint);
}

//  Two servers, the first mute.
static void
s_pair_start (pair_t *pair)
{
    s_pair_start_as (pair, (answers_t){1, 0}, (answers_t){0, 0});
}

static void
s_pair_stop (pair_t *pair)
{
    zactor_destroy (&pair->a.actor);
    zactor_destroy (&pair->b.actor);
}

static void
test_reply (void **state)
{
    answers_t mode = {0, 0};
    server_t server;
    s_server_start (&server, &mode);
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
    answers_t mode = {1, 0};
    server_t server;
    s_server_start (&server, &mode);
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
    pair_t pair;
    s_pair_start (&pair);
    zf_client_t *client = zf_client_new (pair.list);
    assert_int_equal (zf_client_endpoint_count (client), 2);
    zframe_t *reply = zf_client_call (client, "hello", 5, 1000);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:hello"));
    assert_string_equal (zf_client_endpoint (client), pair.b.endpoint);
    zframe_destroy (&reply);
    //  The next call starts with the endpoint that answered.
    int64_t start = zclock_mono ();
    reply = zf_client_call (client, "again", 5, 1000);
    assert_non_null (reply);
    assert_true (zclock_mono () - start < 400);
    zframe_destroy (&reply);
    zf_client_destroy (&client);
    s_pair_stop (&pair);
}

//  A passive first endpoint: the second is asked at once, well within the
//  share of time the first would get if it were silent.
static void
test_passive_then_active (void **state)
{
    pair_t pair;
    s_pair_start_as (&pair, (answers_t){0, -1}, (answers_t){0, 0});
    zf_client_t *client = zf_client_new (pair.list);
    int64_t start = zclock_mono ();
    zframe_t *reply = zf_client_call (client, "hello", 5, 4000);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:hello"));
    assert_true (zclock_mono () - start < 1000);
    assert_string_equal (zf_client_endpoint (client), pair.b.endpoint);
    zframe_destroy (&reply);
    zf_client_destroy (&client);
    s_pair_stop (&pair);
}

//  Nothing listens at the first endpoint (a registry killed): it is passed
//  over once no connection is made within ZF_CLIENT_CONNECT_MS, not after
//  half the timeout.
static void
test_no_connection (void **state)
{
    answers_t answers = {0, 0};
    server_t server;
    s_server_start (&server, &answers);
    char list[160];
    snprintf (list, sizeof list, "tcp://127.0.0.1:1,%s", server.endpoint);
    zf_client_t *client = zf_client_new (list);
    int64_t start = zclock_mono ();
    zframe_t *reply = zf_client_call (client, "hello", 5, 8000);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:hello"));
    assert_true (zclock_mono () - start < ZF_CLIENT_CONNECT_MS + 1000);
    zframe_destroy (&reply);
    zf_client_destroy (&client);
    //  Alone, it is tried until the time is up, and the error says why.
    client = zf_client_new ("tcp://127.0.0.1:1");
    start = zclock_mono ();
    assert_null (zf_client_call (client, "hello", 5, 700));
    assert_true (zclock_mono () - start >= 700 - ZF_CLIENT_PASSIVE_WAIT_MS);
    assert_non_null (strstr (zf_client_error (client), "no connection"));
    zf_client_destroy (&client);
    zactor_destroy (&server.actor);
}

//  Both passive for a while (a pair failing over): rounds go on until one
//  answers; always passive: NULL once the time is up, saying so.
static void
test_passive_rounds (void **state)
{
    pair_t pair;
    s_pair_start_as (&pair, (answers_t){0, 3}, (answers_t){0, -1});
    zf_client_t *client = zf_client_new (pair.list);
    int64_t start = zclock_mono ();
    zframe_t *reply = zf_client_call (client, "hello", 5, 4000);
    int64_t took = zclock_mono () - start;
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:hello"));
    //  Three rounds of refusals, a pause after each.
    assert_true (took >= 3 * ZF_CLIENT_PASSIVE_WAIT_MS && took < 3000);
    zframe_destroy (&reply);
    zf_client_destroy (&client);

    client = zf_client_new (pair.b.endpoint);
    start = zclock_mono ();
    reply = zf_client_call (client, "hello", 5, 300);
    took = zclock_mono () - start;
    assert_null (reply);
    //  It asks again while a pause still fits before the deadline.
    assert_true (took >= 300 - ZF_CLIENT_PASSIVE_WAIT_MS && took < 2000);
    assert_non_null (strstr (zf_client_error (client), "is passive"));
    zf_client_destroy (&client);
    s_pair_stop (&pair);
}

//  Counts the messages read from a side socket, answering each.
static void
s_side (zsock_t *side, void *arg)
{
    int *served = arg;
    zmsg_t *msg = zmsg_recv (side);
    assert_non_null (msg);
    zframe_t *id = zmsg_pop (msg);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &id);
    zmsg_addstr (reply, "served");
    zmsg_send (&reply, side);
    zmsg_destroy (&msg);
    (*served)++;
}

//  A side socket is served while a call waits for a mute registry and for
//  one that takes no connection, and the call still ends at its deadline.
static void
test_side_served_while_waiting (void **state)
{
    answers_t mode = {1, 0};
    server_t server;
    s_server_start (&server, &mode);
    zsock_t *side = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (side, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    zsock_t *asker = zsock_new (ZMQ_DEALER);
    assert_int_equal (zsock_connect (asker, "tcp://127.0.0.1:%d", port), 0);
    zstr_send (asker, "one");
    zstr_send (asker, "two");
    const char *endpoints[] = {server.endpoint, "tcp://127.0.0.1:1"};
    for (int i = 0; i < 2; i++) {
        int served = 0;
        zf_client_t *client = zf_client_new (endpoints[i]);
        zf_client_set_side (client, side, s_side, &served);
        int64_t start = zclock_mono ();
        assert_null (zf_client_call (client, "ping", 4, 600));
        assert_true (zclock_mono () - start >= 600 - ZF_CLIENT_PASSIVE_WAIT_MS);
        assert_int_equal (served, 2);
        for (int answer = 0; answer < 2; answer++) {
            char *text = zstr_recv (asker);
            assert_string_equal (text, "served");
            zstr_free (&text);
        }
        zf_client_destroy (&client);
        if (i == 0) {
            zstr_send (asker, "three");
            zstr_send (asker, "four");
        }
    }
    zsock_destroy (&asker);
    zsock_destroy (&side);
    zactor_destroy (&server.actor);
}

static void
test_send_and_drop (void **state)
{
    pair_t pair;
    s_pair_start (&pair);
    zf_client_t *client = zf_client_new (pair.list);
    //  Sent without waiting; nothing comes from the mute one, and taking
    //  what is there does not wait.
    zsock_t *socket = zf_client_send (client, "one", 3);
    assert_non_null (socket);
    assert_string_equal (zf_client_endpoint (client), pair.a.endpoint);
    zpoller_t *poller = zpoller_new (socket, NULL);
    assert_null (zpoller_wait (poller, 300));
    zpoller_destroy (&poller);
    int64_t start = zclock_mono ();
    assert_null (zf_client_recv (client, 0));
    assert_true (zclock_mono () - start < 100);
    //  Given up: the next request goes to the next endpoint.
    zf_client_drop (client);
    assert_string_equal (zf_client_endpoint (client), pair.b.endpoint);
    socket = zf_client_send (client, "two", 3);
    assert_non_null (socket);
    poller = zpoller_new (socket, NULL);
    assert_ptr_equal (zpoller_wait (poller, 2000), socket);
    zpoller_destroy (&poller);
    zframe_t *reply = zf_client_recv (client, 0);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:two"));
    zframe_destroy (&reply);
    //  An answered socket is kept for the next request.
    assert_ptr_equal (zf_client_send (client, "three", 5), socket);
    reply = zf_client_recv (client, 2000);
    assert_non_null (reply);
    assert_true (zframe_streq (reply, "re:three"));
    zframe_destroy (&reply);
    zf_client_destroy (&client);
    s_pair_stop (&pair);
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
        cmocka_unit_test (test_passive_then_active),
        cmocka_unit_test (test_passive_rounds),
        cmocka_unit_test (test_no_connection),
        cmocka_unit_test (test_send_and_drop),
        cmocka_unit_test (test_endpoints),
        cmocka_unit_test (test_side_served_while_waiting),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
