/*  Tests of the registry's peer link (peer.c) with its loop never run, as
    when the registry is busy with a long turn: the beat thread keeps the
    last state going to the peer every heartbeat, for the stall allowed and
    no longer; a new state from the loop goes out at once. Every wait is
    bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "peer.h"
#include "zf_bstar.h"
#include "zf_proto.h"

#define S_HEARTBEAT 50
#define S_STALL     300

static void
s_changed (void *arg, zf_pair_change_t change, const char *why)
{
}

static uint64_t
s_seq (void *arg)
{
    return *(uint64_t *)arg;
}

static void
s_heard (void *arg)
{
}

//  State messages the peer's SUB gets within ms; the last seq in *seq.
static int
s_count (zsock_t *sub, zf_proto_decoder_t *dec, int ms, uint64_t *seq)
{
    int count = 0;
    int64_t until = zclock_mono () + ms;
    zpoller_t *poller = zpoller_new (sub, NULL);
    for (int64_t now = zclock_mono (); now < until; now = zclock_mono ()) {
        if (zpoller_wait (poller, (int)(until - now)) != sub) continue;
        zframe_t *frame = zframe_recv (sub);
        zf_bstar_msg_t msg;
        zf_proto_error_t err;
        assert_int_equal (
            zf_bstar_decode (dec, zframe_data (frame), zframe_size (frame), &msg, &err), 0);
        *seq = msg.seq;
        zframe_destroy (&frame);
        count++;
    }
    zpoller_destroy (&poller);
    return count;
}

static void
test_beat_goes_on_for_a_busy_loop (void **state)
{
    zloop_t *loop = zloop_new ();
    zf_clock_t *clock = zf_clock_new_real ();
    uint64_t seq = 7;
    zf_peer_config_t cfg = {
        .primary = true,
        .bind = "tcp://127.0.0.1:*",
        .peer = "tcp://127.0.0.1:9",
        .heartbeat_ms = S_HEARTBEAT,
        .stall_ms = S_STALL,
    };
    zf_peer_ops_t ops = {s_changed, s_seq, s_heard};
    char error[256];
    //  The SUB is connected before the link exists, so it misses nothing
    //  once the connection is up: wait for the first state to arrive.
    zf_peer_t *peer = zf_peer_new (loop, clock, &cfg, &ops, &seq, error, sizeof error);
    assert_non_null (peer);
    zsock_t *sub = zsock_new_sub (zf_peer_endpoint (peer), "");
    assert_non_null (sub);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    uint64_t got = 0;
    //  The loop never runs: the first state came before the SUB was up, so
    //  whatever arrives is the beat sending the last state for the loop.
    int filled = s_count (sub, dec, 2000, &got);
    assert_true (filled >= 1);
    assert_true (filled <= S_STALL / S_HEARTBEAT + 1);
    assert_int_equal (got, 7);
    //  Past the stall, silence.
    assert_int_equal (s_count (sub, dec, 300, &got), 0);
    //  A new state from the loop goes out at once, and the beat goes on.
    seq = 9;
    zf_peer_advance (peer);
    int after = s_count (sub, dec, 2000, &got);
    assert_true (after >= 2);
    assert_true (after <= S_STALL / S_HEARTBEAT + 2);
    assert_int_equal (got, 9);
    zf_proto_decoder_destroy (&dec);
    zsock_destroy (&sub);
    zf_peer_destroy (&peer);
    zf_clock_destroy (&clock);
    zloop_destroy (&loop);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_beat_goes_on_for_a_busy_loop),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
