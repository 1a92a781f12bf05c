/*  Tests of the supervisor behind `zflow up`: start, restart after a crash, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"
#include "zf_common.h"

//  Waits up to ms for a child exit to be signalled, then reaps.
static int
s_reap_within (zf_supervisor_t *supervisor, int ms)
{
    struct pollfd item = {zf_supervisor_fd (supervisor), POLLIN, 0};
    if (poll (&item, 1, ms) <= 0) return 0;
    return zf_supervisor_reap (supervisor);
}

static void
test_restart_after_crash (void **state)
{
    zf_supervisor_t *supervisor = zf_supervisor_new ("/bin");
    assert_non_null (supervisor);
    assert_int_equal (zf_supervisor_add (supervisor, "sleeper", "sleep", "30", NULL), 0);
    assert_int_equal (zf_supervisor_start (supervisor), 0);
    pid_t first = zf_supervisor_pid (supervisor, "sleeper");
    assert_true (first > 0);
    assert_int_equal (zf_supervisor_next_ms (supervisor), -1);

    kill (first, SIGKILL);
    assert_int_equal (s_reap_within (supervisor, 5000), 1);
    assert_int_equal (zf_supervisor_pid (supervisor, "sleeper"), 0);
    int64_t wait = zf_supervisor_next_ms (supervisor);
    assert_true (wait > 0 && wait <= 250);

    //  Nothing restarts before the backoff has passed.
    zf_supervisor_restart_due (supervisor);
    assert_int_equal (zf_supervisor_pid (supervisor, "sleeper"), 0);
    poll (NULL, 0, (int)wait + 5);
    zf_supervisor_restart_due (supervisor);
    pid_t second = zf_supervisor_pid (supervisor, "sleeper");
    assert_true (second > 0 && second != first);
    assert_int_equal (zf_supervisor_restarts (supervisor, "sleeper"), 1);

    //  The second crash waits twice as long.
    kill (second, SIGKILL);
    assert_int_equal (s_reap_within (supervisor, 5000), 1);
    wait = zf_supervisor_next_ms (supervisor);
    assert_true (wait > 250 && wait <= 500);

    zf_supervisor_stop (supervisor, 2000);
    assert_int_equal (zf_supervisor_next_ms (supervisor), -1);
    zf_supervisor_destroy (&supervisor);
    assert_null (supervisor);
}

static void
test_stop_terminates_everything (void **state)
{
    zf_supervisor_t *supervisor = zf_supervisor_new ("/bin");
    assert_int_equal (zf_supervisor_add (supervisor, "a", "sleep", "30", NULL), 0);
    assert_int_equal (zf_supervisor_add (supervisor, "b", "sleep", "30", NULL), 0);
    assert_int_equal (zf_supervisor_start (supervisor), 0);
    pid_t a = zf_supervisor_pid (supervisor, "a"), b = zf_supervisor_pid (supervisor, "b");
    assert_true (a > 0 && b > 0);
    zf_supervisor_stop (supervisor, 2000);
    assert_int_equal (zf_supervisor_pid (supervisor, "a"), 0);
    assert_int_equal (zf_supervisor_pid (supervisor, "b"), 0);
    //  Both are gone and reaped: signalling them fails.
    assert_int_equal (kill (a, 0), -1);
    assert_int_equal (kill (b, 0), -1);
    //  Stopped means no restarts.
    zf_supervisor_restart_due (supervisor);
    assert_int_equal (zf_supervisor_pid (supervisor, "a"), 0);
    zf_supervisor_destroy (&supervisor);
}

static void
test_missing_program (void **state)
{
    zf_supervisor_t *supervisor = zf_supervisor_new ("/nonexistent");
    assert_int_equal (zf_supervisor_add (supervisor, "ghost", "zflow-ghost", NULL), 0);
    assert_int_equal (zf_supervisor_start (supervisor), -1);
    assert_int_equal (zf_supervisor_pid (supervisor, "ghost"), 0);
    zf_supervisor_destroy (&supervisor);
}

int
main (void)
{
    zf_log_init ("test", 0);
    zf_log_set_stream (fopen ("/dev/null", "w"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_restart_after_crash),
        cmocka_unit_test (test_stop_terminates_everything),
        cmocka_unit_test (test_missing_program),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
