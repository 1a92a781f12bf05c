/*  Tests of the pair's state machine on a fake clock: every row of the
    Binary Star table and every pair of state and event that changes
    nothing; the rule against split brain (silence and a client, both);
    two actives and two passives; the heartbeat's schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "zf_pair.h"

//  Heartbeat 250 ms, two missed make the peer silent: 500 ms.
#define S_HEARTBEAT 250
#define S_LIVENESS  2
#define S_WINDOW    (S_HEARTBEAT * S_LIVENESS)
#define S_START     1700000000000

static zf_clock_t *s_clock;

static int
s_setup (void **state)
{
    s_clock = zf_clock_new_fake (S_START);
    return 0;
}

static int
s_teardown (void **state)
{
    zf_clock_destroy (&s_clock);
    return 0;
}

static zf_pair_t *
s_pair (bool primary)
{
    zf_pair_t *pair = zf_pair_new (s_clock, primary, S_HEARTBEAT, S_LIVENESS);
    assert_non_null (pair);
    return pair;
}

//  The peer says state, with epoch; returns the change.
static zf_pair_change_t
s_hear (zf_pair_t *pair, zf_bstar_state_t state, uint64_t epoch)
{
    zf_bstar_msg_t msg = {.state = (uint8_t)state, .epoch = epoch, .seq = 7};
    const char *why = NULL;
    zf_pair_change_t change = zf_pair_peer (pair, &msg, &why);
    if (change == ZF_PAIR_SAME)
        assert_null (why);
    else
        assert_non_null (why);
    return change;
}

//  A pair member brought to state: primary or backup, then active or
//  passive through the table.
static zf_pair_t *
s_in (zf_bstar_state_t state, bool primary)
{
    zf_pair_t *pair = s_pair (primary);
    if (state == ZF_BSTAR_ACTIVE) {
        if (primary)
            assert_int_equal (s_hear (pair, ZF_BSTAR_BACKUP, 0), ZF_PAIR_ACTIVATED);
        else {
            assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 0), ZF_PAIR_DEACTIVATED);
            assert_int_equal (s_hear (pair, ZF_BSTAR_PRIMARY, 0), ZF_PAIR_ACTIVATED);
        }
    } else if (state == ZF_BSTAR_PASSIVE)
        assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 0), ZF_PAIR_DEACTIVATED);
    assert_int_equal (zf_pair_state (pair), state);
    return pair;
}

//  A client request: whether it is served, and the change it made.
static bool
s_client (zf_pair_t *pair, zf_pair_change_t *change)
{
    const char *why = NULL;
    bool served = zf_pair_client (pair, change, &why);
    if (*change == ZF_PAIR_SAME)
        assert_null (why);
    else
        assert_non_null (why);
    return served;
}

static void
test_new (void **state)
{
    zf_pair_t *primary = s_pair (true);
    zf_pair_t *backup = s_pair (false);
    assert_int_equal (zf_pair_state (primary), ZF_BSTAR_PRIMARY);
    assert_int_equal (zf_pair_state (backup), ZF_BSTAR_BACKUP);
    assert_true (zf_pair_primary (primary));
    assert_false (zf_pair_primary (backup));
    assert_int_equal (zf_pair_since (primary), S_START);
    //  Nothing heard yet, but the peer counts as alive for one window.
    zf_bstar_msg_t msg;
    assert_false (zf_pair_peer_last (primary, &msg));
    assert_true (zf_pair_peer_alive (primary));
    assert_int_equal (zf_pair_epoch (primary), 0);
    assert_null (zf_pair_new (s_clock, true, 0, 2));
    assert_null (zf_pair_new (s_clock, true, 250, 0));
    zf_pair_destroy (&primary);
    zf_pair_destroy (&backup);
    assert_null (primary);
    zf_pair_destroy (&primary);
}

//  primary: peer backup -> active; peer active -> passive; the others
//  change nothing.
static void
test_primary (void **state)
{
    zf_pair_t *pair = s_pair (true);
    assert_int_equal (s_hear (pair, ZF_BSTAR_PRIMARY, 0), ZF_PAIR_SAME);
    assert_int_equal (s_hear (pair, ZF_BSTAR_PASSIVE, 0), ZF_PAIR_SAME);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PRIMARY);
    zf_clock_advance (s_clock, 40);
    assert_int_equal (s_hear (pair, ZF_BSTAR_BACKUP, 0), ZF_PAIR_ACTIVATED);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_ACTIVE);
    assert_int_equal (zf_pair_since (pair), S_START + 40);
    zf_pair_destroy (&pair);

    pair = s_pair (true);
    assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 3), ZF_PAIR_DEACTIVATED);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PASSIVE);
    zf_pair_destroy (&pair);
}

//  backup: peer active -> passive; the others change nothing.
static void
test_backup (void **state)
{
    zf_pair_t *pair = s_pair (false);
    assert_int_equal (s_hear (pair, ZF_BSTAR_PRIMARY, 0), ZF_PAIR_SAME);
    assert_int_equal (s_hear (pair, ZF_BSTAR_BACKUP, 0), ZF_PAIR_SAME);
    assert_int_equal (s_hear (pair, ZF_BSTAR_PASSIVE, 0), ZF_PAIR_SAME);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_BACKUP);
    assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 1), ZF_PAIR_DEACTIVATED);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PASSIVE);
    zf_pair_destroy (&pair);
}

//  primary, a client: refused while the backup may be active, served (and
//  active) once the peer has been silent for the window.
static void
test_client_before_the_peer (void **state)
{
    zf_pair_t *pair = s_pair (true);
    zf_pair_change_t change;
    assert_false (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_SAME);
    zf_clock_advance (s_clock, S_WINDOW - 1);
    assert_false (s_client (pair, &change));
    //  A peer heard starts the window again.
    s_hear (pair, ZF_BSTAR_PRIMARY, 0);
    zf_clock_advance (s_clock, S_WINDOW - 1);
    assert_false (s_client (pair, &change));
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PRIMARY);
    zf_clock_advance (s_clock, 1);
    assert_false (zf_pair_peer_alive (pair));
    assert_true (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_ACTIVATED);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_ACTIVE);
    zf_pair_destroy (&pair);
}

//  backup, a client: refused, however long its peer has been silent.
static void
test_backup_alone_never_serves (void **state)
{
    zf_pair_t *pair = s_pair (false);
    zf_pair_change_t change;
    assert_false (s_client (pair, &change));
    zf_clock_advance (s_clock, 3600 * 1000);
    assert_false (zf_pair_peer_alive (pair));
    assert_false (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_SAME);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_BACKUP);
    zf_pair_destroy (&pair);
}

//  active: every client served; two actives leave the newer term active
//  (the primary on equal terms); other peer states change nothing.
static void
test_active (void **state)
{
    for (int primary = 0; primary < 2; primary++) {
        zf_pair_t *pair = s_in (ZF_BSTAR_ACTIVE, primary);
        zf_pair_set_epoch (pair, 5);
        zf_pair_change_t change;
        assert_true (s_client (pair, &change));
        assert_int_equal (change, ZF_PAIR_SAME);
        assert_int_equal (s_hear (pair, ZF_BSTAR_PRIMARY, 9), ZF_PAIR_SAME);
        assert_int_equal (s_hear (pair, ZF_BSTAR_BACKUP, 9), ZF_PAIR_SAME);
        assert_int_equal (s_hear (pair, ZF_BSTAR_PASSIVE, 9), ZF_PAIR_SAME);
        assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 4), ZF_PAIR_SAME);
        assert_int_equal (zf_pair_state (pair), ZF_BSTAR_ACTIVE);
        //  Equal terms: the primary stays.
        zf_pair_change_t tie = s_hear (pair, ZF_BSTAR_ACTIVE, 5);
        assert_int_equal (tie, primary ? ZF_PAIR_SAME : ZF_PAIR_STEPPED_DOWN);
        zf_pair_destroy (&pair);

        pair = s_in (ZF_BSTAR_ACTIVE, primary);
        zf_pair_set_epoch (pair, 5);
        assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 6), ZF_PAIR_STEPPED_DOWN);
        assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PASSIVE);
        assert_int_equal (zf_pair_epoch_seen (pair), 6);
        assert_int_equal (zf_pair_epoch (pair), 5);
        //  Stepped down, it serves no one while the peer is heard.
        assert_false (s_client (pair, &change));
        zf_pair_destroy (&pair);
    }
}

//  passive: a restarting peer (primary or backup) makes it active; two
//  passives make the primary active; an active peer changes nothing.
static void
test_passive (void **state)
{
    for (int primary = 0; primary < 2; primary++) {
        zf_bstar_state_t restarting[] = {ZF_BSTAR_PRIMARY, ZF_BSTAR_BACKUP};
        for (int i = 0; i < 2; i++) {
            zf_pair_t *pair = s_in (ZF_BSTAR_PASSIVE, primary);
            assert_int_equal (s_hear (pair, ZF_BSTAR_ACTIVE, 2), ZF_PAIR_SAME);
            assert_int_equal (s_hear (pair, restarting[i], 0), ZF_PAIR_ACTIVATED);
            assert_int_equal (zf_pair_state (pair), ZF_BSTAR_ACTIVE);
            zf_pair_destroy (&pair);
        }
        zf_pair_t *pair = s_in (ZF_BSTAR_PASSIVE, primary);
        zf_pair_change_t change = s_hear (pair, ZF_BSTAR_PASSIVE, 0);
        assert_int_equal (change, primary ? ZF_PAIR_ACTIVATED : ZF_PAIR_SAME);
        assert_int_equal (zf_pair_state (pair), primary ? ZF_BSTAR_ACTIVE : ZF_BSTAR_PASSIVE);
        zf_pair_destroy (&pair);
    }
}

//  The rule against split brain: a passive peer takes over only when the
//  active one has been silent for the window and a client turned to it.
static void
test_failover_needs_silence_and_a_client (void **state)
{
    zf_pair_t *pair = s_in (ZF_BSTAR_PASSIVE, false);
    zf_pair_change_t change;
    //  The active peer is alive: a client is refused.
    for (int i = 0; i < 10; i++) {
        zf_clock_advance (s_clock, S_HEARTBEAT);
        s_hear (pair, ZF_BSTAR_ACTIVE, 1);
        assert_false (s_client (pair, &change));
        assert_int_equal (change, ZF_PAIR_SAME);
    }
    //  Silence alone changes nothing, however long.
    zf_clock_advance (s_clock, 60 * 1000);
    assert_false (zf_pair_peer_alive (pair));
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_PASSIVE);
    //  A client after the silence: the passive peer takes over.
    assert_true (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_ACTIVATED);
    assert_int_equal (zf_pair_state (pair), ZF_BSTAR_ACTIVE);
    assert_int_equal (zf_pair_since (pair), S_START + 10 * S_HEARTBEAT + 60 * 1000);
    zf_pair_destroy (&pair);

    //  Silent one millisecond short of the window: still refused.
    pair = s_in (ZF_BSTAR_PASSIVE, true);
    zf_clock_advance (s_clock, S_WINDOW - 1);
    assert_true (zf_pair_peer_alive (pair));
    assert_false (s_client (pair, &change));
    zf_clock_advance (s_clock, 1);
    assert_true (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_ACTIVATED);
    zf_pair_destroy (&pair);
}

//  The active's events show it lives though its heartbeats are late: the
//  passive does not take over while they come, and does once they stop.
static void
test_events_show_the_peer_lives (void **state)
{
    zf_pair_t *pair = s_in (ZF_BSTAR_PASSIVE, false);
    zf_pair_change_t change;
    for (int i = 0; i < 8; i++) {
        zf_clock_advance (s_clock, S_WINDOW - 1);
        zf_pair_peer_lives (pair);
        assert_true (zf_pair_peer_alive (pair));
        assert_false (s_client (pair, &change));
        assert_int_equal (change, ZF_PAIR_SAME);
    }
    //  The state it said last stands: still the active.
    zf_bstar_msg_t last;
    assert_true (zf_pair_peer_last (pair, &last));
    assert_int_equal (last.state, ZF_BSTAR_ACTIVE);
    zf_clock_advance (s_clock, S_WINDOW);
    assert_true (s_client (pair, &change));
    assert_int_equal (change, ZF_PAIR_ACTIVATED);
    zf_pair_destroy (&pair);
}

//  The state message: due at once, then every heartbeat, and at once
//  after any change of state; the wait is for the owner's timer.
static void
test_heartbeat (void **state)
{
    zf_pair_t *pair = s_pair (true);
    assert_true (zf_pair_due (pair));
    assert_int_equal (zf_pair_wait (pair), 0);
    zf_pair_sent (pair);
    assert_false (zf_pair_due (pair));
    assert_int_equal (zf_pair_wait (pair), S_HEARTBEAT);
    zf_clock_advance (s_clock, S_HEARTBEAT - 1);
    assert_false (zf_pair_due (pair));
    assert_int_equal (zf_pair_wait (pair), 1);
    zf_clock_advance (s_clock, 1);
    assert_true (zf_pair_due (pair));
    //  Sent late (at 300 ms): the peer's silence (at 500 ms) comes before
    //  the next heartbeat (at 550 ms), and the wait says so.
    zf_clock_advance (s_clock, 50);
    zf_pair_sent (pair);
    assert_int_equal (zf_pair_wait (pair), S_WINDOW - 300);
    zf_clock_advance (s_clock, 5);
    //  A change of state is told at once.
    s_hear (pair, ZF_BSTAR_BACKUP, 0);
    assert_true (zf_pair_due (pair));
    zf_pair_sent (pair);
    //  The peer heard just now: its silence is a window away.
    assert_int_equal (zf_pair_wait (pair), S_HEARTBEAT);
    //  Nothing changes: no message before the heartbeat.
    s_hear (pair, ZF_BSTAR_PASSIVE, 0);
    assert_false (zf_pair_due (pair));
    //  Unless the owner has news.
    zf_pair_tell (pair);
    assert_true (zf_pair_due (pair));
    assert_int_equal (zf_pair_wait (pair), 0);
    zf_pair_destroy (&pair);
}

//  What was heard: the last message, the newest epoch.
static void
test_peer_last (void **state)
{
    zf_pair_t *pair = s_pair (false);
    zf_pair_set_epoch (pair, 3);
    assert_int_equal (zf_pair_epoch_seen (pair), 3);
    zf_bstar_msg_t msg = {.state = ZF_BSTAR_ACTIVE, .epoch = 8, .seq = 1234};
    zf_pair_peer (pair, &msg, NULL);
    zf_bstar_msg_t last;
    assert_true (zf_pair_peer_last (pair, &last));
    assert_int_equal (last.state, ZF_BSTAR_ACTIVE);
    assert_int_equal (last.epoch, 8);
    assert_int_equal (last.seq, 1234);
    assert_int_equal (zf_pair_epoch_seen (pair), 8);
    msg.epoch = 2;
    zf_pair_peer (pair, &msg, NULL);
    assert_int_equal (zf_pair_epoch_seen (pair), 8);
    zf_pair_set_epoch (pair, 9);
    assert_int_equal (zf_pair_epoch_seen (pair), 9);
    zf_pair_destroy (&pair);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_new, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_primary, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_backup, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_client_before_the_peer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_backup_alone_never_serves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_active, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_passive, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failover_needs_silence_and_a_client, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_events_show_the_peer_lives, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_heartbeat, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_peer_last, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
