/*  Tests of zf_regclient (req_id matching, multi-part replies, bad replies),
    of endpoint resolution and of zf_evsub (connected, reconnected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "zf_evsub.h"
#include "zf_regclient.h"

//  How the scripted server answers each request.
typedef enum {
    S_STALE_FIRST, //  a reply to an older req_id, then the right one
    S_TWO_PARTS,   //  EVENTS_REPLY part 1 and part 2
    S_GARBAGE      //  bytes that do not decode
} s_script_t;

//  Sends one reply body to the client identity id.
static void
s_send (zsock_t *router, zframe_t *id, const zf_reg_reply_t *reply)
{
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_error_t err;
    assert_int_equal (zf_reg_reply_encode (enc, reply, &err), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (id), zframe_size (id));
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, router);
    zf_proto_encoder_destroy (&enc);
}

//  A ROUTER that answers by its script.
static void
s_server (zsock_t *pipe, void *args)
{
    s_script_t script = *(s_script_t *)args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (zpoller_wait (poller, -1) == router) {
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *id = zmsg_pop (msg);
        zframe_t *empty = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        zf_reg_request_t req;
        zf_proto_error_t err;
        assert_int_equal (
            zf_reg_request_decode (dec, zframe_data (body), zframe_size (body), &req, &err), 0);
        zf_reg_reply_t reply;
        if (script == S_STALE_FIRST) {
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id + 1000);
            reply.text = "stale";
            s_send (router, id, &reply);
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            reply.text = "fresh";
            s_send (router, id, &reply);
        } else if (script == S_TWO_PARTS) {
            zf_event_t events[2] = {
                {.kind = ZF_EV_EPOCH, .value = 1, .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE},
                {.kind = ZF_EV_EPOCH, .value = 2, .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE}};
            for (uint32_t part = 1; part <= 2; part++) {
                zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req.req_id);
                reply.seq = 77;
                reply.part = part;
                reply.parts = 2;
                reply.events = &events[part - 1];
                reply.event_count = 1;
                s_send (router, id, &reply);
            }
        } else {
            zmsg_t *out = zmsg_new ();
            zmsg_addmem (out, zframe_data (id), zframe_size (id));
            zmsg_addmem (out, NULL, 0);
            zmsg_addstr (out, "garbage");
            zmsg_send (&out, router);
        }
        zframe_destroy (&id);
        zframe_destroy (&empty);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zf_proto_decoder_destroy (&dec);
    zsock_destroy (&router);
}

//  Starts a scripted server; *endpoint gets where it listens (the caller frees it).
static zactor_t *
s_start (s_script_t *script, char **endpoint)
{
    zactor_t *server = zactor_new (s_server, script);
    *endpoint = zstr_recv (server);
    return server;
}

static void
test_stale_reply_dropped (void **state)
{
    s_script_t script = S_STALE_FIRST;
    char *endpoint;
    zactor_t *server = s_start (&script, &endpoint);
    zf_regclient_t *client = zf_regclient_new (endpoint);
    assert_non_null (client);
    for (int i = 0; i < 3; i++) {
        zf_reg_request_t req;
        zf_reg_request_init (&req, ZF_BODY_PING, 0);
        zf_reg_reply_t reply;
        assert_int_equal (zf_regclient_call (client, &req, &reply, 5000), 0);
        assert_int_equal (reply.type, ZF_BODY_OK);
        assert_string_equal (reply.text, "fresh");
        assert_int_equal (reply.req_id, req.req_id);
    }
    zf_regclient_destroy (&client);
    assert_null (client);
    zactor_destroy (&server);
    zstr_free (&endpoint);
}

static void
test_parts (void **state)
{
    s_script_t script = S_TWO_PARTS;
    char *endpoint;
    zactor_t *server = s_start (&script, &endpoint);
    zf_regclient_t *client = zf_regclient_new (endpoint);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    zf_reg_reply_t reply;
    assert_int_equal (zf_regclient_call (client, &req, &reply, 5000), 0);
    assert_int_equal (reply.part, 1);
    assert_int_equal (reply.parts, 2);
    assert_int_equal (reply.events[0].value, 1);
    assert_int_equal (zf_regclient_next (client, &reply, 5000), 0);
    assert_int_equal (reply.part, 2);
    assert_int_equal (reply.seq, 77);
    assert_int_equal (reply.events[0].value, 2);
    //  Nothing more comes.
    assert_int_equal (zf_regclient_next (client, &reply, 100), ZF_REGCLIENT_UNREACHABLE);
    zf_regclient_destroy (&client);
    zactor_destroy (&server);
    zstr_free (&endpoint);
}

static void
test_bad_reply (void **state)
{
    s_script_t script = S_GARBAGE;
    char *endpoint;
    zactor_t *server = s_start (&script, &endpoint);
    zf_regclient_t *client = zf_regclient_new (endpoint);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    zf_reg_reply_t reply;
    assert_int_equal (zf_regclient_call (client, &req, &reply, 5000), ZF_REGCLIENT_BAD);
    assert_non_null (strstr (zf_regclient_error (client), "did not decode"));
    //  A request that cannot be encoded never leaves.
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, 5000), ZF_REGCLIENT_BAD);
    assert_non_null (strstr (zf_regclient_error (client), "cannot encode START"));
    zf_regclient_destroy (&client);
    zactor_destroy (&server);
    zstr_free (&endpoint);
}

static void
test_resolve (void **state)
{
    unsetenv ("ZFLOW_REGISTRY");
    assert_string_equal (zf_client_endpoints_resolve (NULL), ZF_CLIENT_DEFAULT_ENDPOINT);
    setenv ("ZFLOW_REGISTRY", "", 1);
    assert_string_equal (zf_client_endpoints_resolve (""), ZF_CLIENT_DEFAULT_ENDPOINT);
    setenv ("ZFLOW_REGISTRY", "tcp://a:5570,tcp://b:5572", 1);
    assert_string_equal (zf_client_endpoints_resolve (NULL), "tcp://a:5570,tcp://b:5572");
    assert_string_equal (zf_client_endpoints_resolve ("tcp://c:1"), "tcp://c:1");
    unsetenv ("ZFLOW_REGISTRY");
}

static void
test_evsub (void **state)
{
    //  An ipc endpoint of our own: no other test can take it meanwhile.
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "ipc:///tmp/zf_test_evsub_%d", (int)getpid ());
    zf_evsub_t *sub = zf_evsub_new (endpoint);
    assert_non_null (sub);
    zf_evsub_subscribe (sub, "");
    //  Nobody listens: no connection within the bound.
    assert_false (zf_evsub_wait_connected (sub, 200));
    //  Once the publisher is there, the connection comes.
    zsock_t *pub = zsock_new (ZMQ_PUB);
    assert_int_equal (zsock_bind (pub, "%s", endpoint), 0);
    assert_true (zf_evsub_wait_connected (sub, 10000));
    assert_true (zf_evsub_connected (sub));
    //  A publisher that goes away and comes back is a reconnect.
    zsock_destroy (&pub);
    pub = zsock_new (ZMQ_PUB);
    assert_int_equal (zsock_bind (pub, "%s", endpoint), 0);
    zpoller_t *poller = zpoller_new (zf_evsub_monitor (sub), NULL);
    int reconnects = 0;
    while (!reconnects && zpoller_wait (poller, 10000))
        reconnects = zf_evsub_on_monitor (sub);
    assert_int_equal (reconnects, 1);
    zpoller_destroy (&poller);
    zsock_destroy (&pub);
    zf_evsub_destroy (&sub);
    assert_null (sub);
    unlink (endpoint + strlen ("ipc://"));
    assert_null (zf_evsub_new ("nowhere"));
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_stale_reply_dropped),
        cmocka_unit_test (test_parts),
        cmocka_unit_test (test_bad_reply),
        cmocka_unit_test (test_resolve),
        cmocka_unit_test (test_evsub),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
