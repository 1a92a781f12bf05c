/*  Tests of the gateway's probe on a fake clock: when a request is due,
    which reply answers it, a deadline that gives it up, a request that did
    not go; and the verdict on the gateway's health with its /healthz
    lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "probe.h"

//  Every request 1 s apart, 3 s for each reply.
#define S_INTERVAL 1000
#define S_TIMEOUT  3000

//  The clock and the probe of a test.
typedef struct {
    zf_clock_t *clock;    //  a fake one
    zf_gw_probe_t *probe; //  on it
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->clock = zf_clock_new_fake (1700000000000);
    fx->probe = zf_gw_probe_new (fx->clock, S_INTERVAL, S_TIMEOUT);
    assert_non_null (fx->probe);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    zf_gw_probe_destroy (&fx->probe);
    zf_gw_probe_destroy (&fx->probe);
    zf_clock_destroy (&fx->clock);
    free (fx);
    return 0;
}

static void
test_schedule (void **state)
{
    fixture_t *fx = *state;
    uint64_t head = 1;
    //  Nothing known at first, and the first request is due at once.
    assert_false (zf_gw_probe_answering (fx->probe));
    assert_false (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 0);
    assert_int_equal (zf_gw_probe_wait (fx->probe), 0);
    assert_true (zf_gw_probe_due (fx->probe));
    uint64_t id = zf_gw_probe_sent (fx->probe);

    //  One outstanding at a time: the next waits for its reply.
    assert_false (zf_gw_probe_due (fx->probe));
    assert_int_equal (zf_gw_probe_wait (fx->probe), S_TIMEOUT);
    zf_clock_advance (fx->clock, 10);
    assert_true (zf_gw_probe_answer (fx->probe, id, true, 500));
    assert_true (zf_gw_probe_answering (fx->probe));
    assert_true (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 500);
    //  The same reply again answers nothing.
    assert_false (zf_gw_probe_answer (fx->probe, id, true, 900));
    assert_true (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 500);

    //  The next is due an interval after the last one went.
    assert_false (zf_gw_probe_due (fx->probe));
    assert_int_equal (zf_gw_probe_wait (fx->probe), S_INTERVAL - 10);
    zf_clock_advance (fx->clock, S_INTERVAL - 11);
    assert_false (zf_gw_probe_due (fx->probe));
    assert_false (zf_gw_probe_expired (fx->probe));
    zf_clock_advance (fx->clock, 1);
    assert_true (zf_gw_probe_due (fx->probe));
    uint64_t next = zf_gw_probe_sent (fx->probe);
    assert_true (next != id);
    zf_clock_advance (fx->clock, 5);
    assert_true (zf_gw_probe_answer (fx->probe, next, true, 800));
    assert_true (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 800);

    //  An answer without the seq: the registry answers, its seq is unknown.
    zf_clock_advance (fx->clock, S_INTERVAL);
    uint64_t plain = zf_gw_probe_sent (fx->probe);
    assert_true (zf_gw_probe_answer (fx->probe, plain, false, 0));
    assert_true (zf_gw_probe_answering (fx->probe));
    assert_false (zf_gw_probe_head (fx->probe, &head));
}

static void
test_deadline (void **state)
{
    fixture_t *fx = *state;
    uint64_t head = 0;
    uint64_t first = zf_gw_probe_sent (fx->probe);
    assert_true (zf_gw_probe_answer (fx->probe, first, true, 42));

    //  A request not answered by its deadline is given up, once.
    zf_clock_advance (fx->clock, S_INTERVAL);
    uint64_t lost = zf_gw_probe_sent (fx->probe);
    zf_clock_advance (fx->clock, S_TIMEOUT - 1);
    assert_false (zf_gw_probe_expired (fx->probe));
    assert_true (zf_gw_probe_answering (fx->probe));
    assert_int_equal (zf_gw_probe_wait (fx->probe), 1);
    zf_clock_advance (fx->clock, 1);
    assert_int_equal (zf_gw_probe_wait (fx->probe), 0);
    assert_true (zf_gw_probe_expired (fx->probe));
    assert_false (zf_gw_probe_expired (fx->probe));
    assert_false (zf_gw_probe_answering (fx->probe));
    //  The last seq heard is kept; the lag stays measured against it.
    assert_true (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 42);

    //  Its late reply answers nothing; the next request is due at once
    //  (its interval has passed) and its reply counts.
    zf_clock_advance (fx->clock, 100);
    assert_false (zf_gw_probe_answer (fx->probe, lost, true, 99));
    assert_false (zf_gw_probe_answering (fx->probe));
    assert_true (zf_gw_probe_due (fx->probe));
    uint64_t again = zf_gw_probe_sent (fx->probe);
    //  A reply to an earlier request, even in time, is not this one's.
    assert_false (zf_gw_probe_answer (fx->probe, lost, true, 99));
    assert_true (zf_gw_probe_answer (fx->probe, again, true, 120));
    assert_true (zf_gw_probe_answering (fx->probe));
    assert_true (zf_gw_probe_head (fx->probe, &head));
    assert_int_equal (head, 120);
}

static void
test_unsent (void **state)
{
    fixture_t *fx = *state;
    uint64_t id = zf_gw_probe_sent (fx->probe);
    assert_true (zf_gw_probe_answer (fx->probe, id, true, 7));
    zf_clock_advance (fx->clock, S_INTERVAL);
    id = zf_gw_probe_sent (fx->probe);
    //  A request that did not go is not answered, and is not outstanding:
    //  the next one goes an interval later, not after a timeout.
    zf_gw_probe_unsent (fx->probe);
    assert_false (zf_gw_probe_answering (fx->probe));
    assert_false (zf_gw_probe_expired (fx->probe));
    assert_false (zf_gw_probe_answer (fx->probe, id, true, 8));
    assert_false (zf_gw_probe_due (fx->probe));
    assert_int_equal (zf_gw_probe_wait (fx->probe), S_INTERVAL);
    zf_clock_advance (fx->clock, S_INTERVAL);
    assert_true (zf_gw_probe_due (fx->probe));
}

//  The /healthz line and status of a standing.
static int
s_line (const zf_gw_standing_t *standing, char *line)
{
    return zf_gw_health_line (standing, line, 128);
}

static void
test_verdict (void **state)
{
    char line[128];
    zf_gw_standing_t standing = {.answering = true,
                                 .head_known = true,
                                 .head = 1000,
                                 .applied = 900,
                                 .in_step = true,
                                 .max_lag = 100};
    //  At the maximum: healthy, saying the lag.
    assert_int_equal (zf_gw_lag (&standing), 100);
    assert_int_equal (zf_gw_health (&standing), ZF_GW_HEALTHY);
    assert_int_equal (s_line (&standing, line), 200);
    assert_string_equal (line, "ok lag_events=100\n");

    //  One event more: behind.
    standing.applied = 899;
    assert_int_equal (zf_gw_lag (&standing), 101);
    assert_int_equal (zf_gw_health (&standing), ZF_GW_BEHIND);
    assert_int_equal (s_line (&standing, line), 503);
    assert_string_equal (line, "behind the registry by 101 events (max 100)\n");

    //  The case: in step by its own account, 950,000 events behind.
    zf_gw_standing_t backlog = {true, true, 1950000, 1000000, true, 100000};
    assert_int_equal (zf_gw_lag (&backlog), 950000);
    assert_int_equal (s_line (&backlog, line), 503);
    assert_string_equal (line, "behind the registry by 950000 events (max 100000)\n");

    //  Applied past the registry's answer (events since, or a new
    //  history), or no seq known: no lag.
    standing.applied = 1200;
    assert_int_equal (zf_gw_lag (&standing), 0);
    assert_int_equal (s_line (&standing, line), 200);
    assert_string_equal (line, "ok lag_events=0\n");
    standing.applied = 10;
    standing.head_known = false;
    assert_int_equal (zf_gw_lag (&standing), 0);
    assert_int_equal (zf_gw_health (&standing), ZF_GW_HEALTHY);
    standing.head_known = true;

    //  A maximum of 0: only exactly in step is healthy.
    standing.max_lag = 0;
    assert_int_equal (zf_gw_health (&standing), ZF_GW_BEHIND);
    standing.applied = 1000;
    assert_int_equal (s_line (&standing, line), 200);
    assert_string_equal (line, "ok lag_events=0\n");

    //  Out of step, whatever the lag.
    standing.in_step = false;
    assert_int_equal (zf_gw_health (&standing), ZF_GW_OUT_OF_STEP);
    assert_int_equal (s_line (&standing, line), 503);
    assert_string_equal (line, "not in step with the registry\n");

    //  A registry that does not answer comes first: the replica hears
    //  nothing then and would still believe itself in step.
    standing.in_step = true;
    standing.answering = false;
    assert_int_equal (zf_gw_health (&standing), ZF_GW_UNANSWERED);
    assert_int_equal (s_line (&standing, line), 503);
    assert_string_equal (line, "registry not answering\n");
    standing.in_step = false;
    assert_int_equal (zf_gw_health (&standing), ZF_GW_UNANSWERED);

    //  A buffer too small still ends in a terminated string.
    char small[8];
    assert_int_equal (zf_gw_health_line (&backlog, small, sizeof small), 503);
    assert_int_equal (strlen (small), sizeof small - 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_verdict),
        cmocka_unit_test_setup_teardown (test_schedule, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_deadline, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unsent, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
