/*  Tests of zf_replier: what waits for each peer is counted in bytes until
    libzmq lets go of it, large replies wait for a peer under its allowance,
    and a peer that leaves takes its queue with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_replier.h"
#include "zf_socket.h"

#define S_MB (1024 * 1024)

//  A ROUTER and a DEALER that does not read until told to.
typedef struct {
    zsock_t *router;
    zsock_t *dealer;
    zframe_t *identity; //  the dealer, as the router knows it
    zf_replier_t *replier;
} fixture_t;

//  A request from the dealer, so that the router learns its identity.
static void
s_hello (fixture_t *f)
{
    assert_int_equal (zstr_sendm (f->dealer, ""), 0);
    assert_int_equal (zstr_send (f->dealer, "hello"), 0);
    zmsg_t *msg = zmsg_recv (f->router);
    assert_non_null (msg);
    f->identity = zmsg_pop (msg);
    zmsg_destroy (&msg);
}

//  Over inproc, a reply waits in the pipe until the dealer reads it.
static void
s_setup_inproc (fixture_t *f, const char *name, size_t allowance)
{
    f->router = zf_socket_new (ZMQ_ROUTER);
    f->dealer = zf_socket_new (ZMQ_DEALER);
    assert_non_null (f->router);
    assert_non_null (f->dealer);
    zsock_set_router_mandatory (f->router, 1);
    assert_int_equal (zsock_bind (f->router, "inproc://%s", name), 0);
    assert_int_equal (zsock_connect (f->dealer, "inproc://%s", name), 0);
    f->replier = zf_replier_new (f->router, allowance);
    assert_non_null (f->replier);
    s_hello (f);
}

static void
s_teardown (fixture_t *f)
{
    zframe_destroy (&f->identity);
    zf_replier_destroy (&f->replier);
    zsock_destroy (&f->dealer);
    zsock_destroy (&f->router);
}

//  Reads one reply from the dealer; its body's size.
static size_t
s_read (fixture_t *f)
{
    zmsg_t *msg = zmsg_recv (f->dealer);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    size_t size = zframe_size (zmsg_last (msg));
    zmsg_destroy (&msg);
    return size;
}

static void
test_counts_until_read (void **state)
{
    (void)state;
    fixture_t f = {0};
    s_setup_inproc (&f, "replier-count", 4 * S_MB);
    char *body = calloc (1, S_MB);
    assert_non_null (body);
    for (int i = 0; i < 3; i++)
        assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, S_MB), 0);
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 3 * S_MB);
    //  Under the allowance: a large reply may go.
    assert_true (zf_replier_admit (f.replier, f.identity, 7));
    assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, S_MB), 0);
    zf_replier_stats_t stats;
    zf_replier_stats (f.replier, &stats);
    assert_int_equal (stats.sent, 4);
    assert_int_equal (stats.unread, 4 * S_MB);
    assert_int_equal (stats.peers, 1);
    //  Reading gives the bytes back, one reply at a time.
    assert_int_equal (s_read (&f), S_MB);
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 3 * S_MB);
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_read (&f), S_MB);
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 0);
    zf_replier_stats (f.replier, &stats);
    assert_int_equal (stats.peers, 0);
    free (body);
    s_teardown (&f);
}

static void
test_refuses_past_allowance (void **state)
{
    (void)state;
    fixture_t f = {0};
    s_setup_inproc (&f, "replier-refuse", 2 * S_MB);
    char *body = calloc (1, S_MB);
    assert_non_null (body);
    for (int i = 0; i < 2; i++)
        assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, S_MB), 0);
    //  At the allowance: refused, and told why with ERROR unavailable.
    assert_false (zf_replier_admit (f.replier, f.identity, 42));
    size_t unread = zf_replier_unread (f.replier, f.identity);
    assert_true (unread > 2 * S_MB && unread < 2 * S_MB + 1024);
    zf_replier_stats_t stats;
    zf_replier_stats (f.replier, &stats);
    assert_int_equal (stats.refused, 1);
    //  The client reads its replies, then the refusal.
    assert_int_equal (s_read (&f), S_MB);
    assert_int_equal (s_read (&f), S_MB);
    zmsg_t *msg = zmsg_recv (f.dealer);
    assert_non_null (msg);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    zf_reg_reply_t reply;
    zf_proto_error_t err;
    zframe_t *frame = zmsg_last (msg);
    assert_int_equal (
        zf_reg_reply_decode (dec, zframe_data (frame), zframe_size (frame), &reply, &err), 0);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.req_id, 42);
    assert_int_equal (reply.code, ZF_ERR_UNAVAILABLE);
    assert_non_null (strstr (reply.text, "not read"));
    zf_proto_decoder_destroy (&dec);
    zmsg_destroy (&msg);
    //  Having read everything, it is served again.
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 0);
    assert_true (zf_replier_admit (f.replier, f.identity, 43));
    free (body);
    s_teardown (&f);
}

static void
test_silent_past_error_room (void **state)
{
    (void)state;
    fixture_t f = {0};
    s_setup_inproc (&f, "replier-silent", 1024);
    zsock_set_sndhwm (f.router, 0);
    zsock_set_rcvhwm (f.dealer, 0);
    size_t size = 3 * S_MB;
    char *body = calloc (1, size);
    assert_non_null (body);
    assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, size), 0);
    //  Refusals are answered until their ERRORs come to about a megabyte,
    //  then not at all.
    int answered = 0;
    for (int i = 0; i < 50000; i++) {
        zf_replier_stats_t before, after;
        zf_replier_stats (f.replier, &before);
        assert_false (zf_replier_admit (f.replier, f.identity, (uint64_t)i + 1));
        zf_replier_stats (f.replier, &after);
        assert_int_equal (after.refused, before.refused + 1);
        if (after.sent == before.sent) break;
        answered++;
    }
    assert_true (answered > 1000);
    assert_true (answered < 50000);
    size_t unread = zf_replier_unread (f.replier, f.identity);
    assert_true (unread > size + S_MB - 1024 && unread < size + S_MB + 1024);
    //  Once it has read everything it is served, and refused again with
    //  an answer when it lags again.
    for (int i = 0; i <= answered; i++)
        s_read (&f);
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 0);
    assert_true (zf_replier_admit (f.replier, f.identity, 1));
    assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, size), 0);
    zf_replier_stats_t before, after;
    zf_replier_stats (f.replier, &before);
    assert_false (zf_replier_admit (f.replier, f.identity, 2));
    zf_replier_stats (f.replier, &after);
    assert_int_equal (after.sent, before.sent + 1);
    free (body);
    s_teardown (&f);
}

static void
test_unknown_peer_dropped (void **state)
{
    (void)state;
    fixture_t f = {0};
    s_setup_inproc (&f, "replier-unknown", S_MB);
    zframe_t *stranger = zframe_new ("nobody", 6);
    assert_int_equal (zf_replier_send_body (f.replier, stranger, "x", 1), -1);
    assert_int_equal (zf_replier_unread (f.replier, stranger), 0);
    zf_replier_stats_t stats;
    zf_replier_stats (f.replier, &stats);
    assert_int_equal (stats.dropped, 1);
    assert_int_equal (stats.sent, 0);
    zframe_destroy (&stranger);
    s_teardown (&f);
}

static void
test_peer_that_leaves_takes_its_queue (void **state)
{
    (void)state;
    fixture_t f = {0};
    f.router = zf_socket_new (ZMQ_ROUTER);
    f.dealer = zf_socket_new (ZMQ_DEALER);
    assert_non_null (f.router);
    assert_non_null (f.dealer);
    //  A reader that takes almost nothing: the replies stay with the router.
    zsock_set_rcvhwm (f.dealer, 1);
    zsock_set_rcvbuf (f.dealer, 4096);
    int port = zsock_bind (f.router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    assert_int_equal (zsock_connect (f.dealer, "tcp://127.0.0.1:%d", port), 0);
    f.replier = zf_replier_new (f.router, 8 * S_MB);
    assert_non_null (f.replier);
    s_hello (&f);
    char *body = calloc (1, 4 * S_MB);
    assert_non_null (body);
    for (int i = 0; i < 8; i++)
        assert_int_equal (zf_replier_send_body (f.replier, f.identity, body, 4 * S_MB), 0);
    //  The kernel's buffers take a few of them at most.
    zclock_sleep (200);
    size_t unread = zf_replier_unread (f.replier, f.identity);
    assert_true (unread >= 16 * S_MB);
    assert_false (zf_replier_admit (f.replier, f.identity, 1));
    //  The client goes away: libzmq frees its queue once the router has
    //  seen it go (as a service's loop does, asking the socket's events),
    //  and the counts follow.
    zsock_destroy (&f.dealer);
    int64_t deadline = zclock_mono () + 10000;
    while (zf_replier_unread (f.replier, f.identity) > 0 && zclock_mono () < deadline) {
        zsock_events (f.router);
        zclock_sleep (20);
    }
    assert_int_equal (zf_replier_unread (f.replier, f.identity), 0);
    free (body);
    s_teardown (&f);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_counts_until_read),
        cmocka_unit_test (test_refuses_past_allowance),
        cmocka_unit_test (test_silent_past_error_room),
        cmocka_unit_test (test_unknown_peer_dropped),
        cmocka_unit_test (test_peer_that_leaves_takes_its_queue),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
