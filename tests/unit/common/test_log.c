/*  Tests of zf_log: format, levels, rate limiting, sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_log.h"
#include "zf_limits.h"

//  What a test reads back: everything written to the log stream.
typedef struct {
    FILE *stream;
    char *text;
    size_t size;
    int sink_calls;
    char sink_last[512];
} fixture_t;

static void
s_sink (zf_log_level_t level, const char *line, void *arg)
{
    fixture_t *fx = arg;
    fx->sink_calls++;
    snprintf (fx->sink_last, sizeof fx->sink_last, "%s|%s", zf_log_level_name (level), line);
}

static int
setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->stream = open_memstream (&fx->text, &fx->size);
    zf_log_init ("testsvc", 0);
    zf_log_set_stream (fx->stream);
    zf_log_set_sink (s_sink, fx);
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *fx = *state;
    zf_log_set_stream (NULL);
    zf_log_set_sink (NULL, NULL);
    fclose (fx->stream);
    free (fx->text);
    free (fx);
    return 0;
}

//  Counts lines of the log so far.
static int
s_lines (fixture_t *fx)
{
    fflush (fx->stream);
    int lines = 0;
    for (size_t i = 0; i < fx->size; i++)
        lines += fx->text[i] == '\n';
    return lines;
}

static void
test_format (void **state)
{
    fixture_t *fx = *state;
    zf_log_error ("task failed flow=%s exit=%d", "eod", 3);
    fflush (fx->stream);
    //  2026-11-24T09:38:06.123Z testsvc error task failed flow=eod exit=3
    assert_int_equal (s_lines (fx), 1);
    assert_true (fx->size > 25);
    assert_int_equal (fx->text[4], '-');
    assert_int_equal (fx->text[10], 'T');
    assert_int_equal (fx->text[23], 'Z');
    assert_non_null (strstr (fx->text, " testsvc error task failed flow=eod exit=3\n"));
}

static void
test_levels_quiet_by_default (void **state)
{
    fixture_t *fx = *state;
    zf_log_info ("hidden info");
    zf_log_debug ("hidden debug");
    assert_int_equal (s_lines (fx), 0);
    zf_log_warn ("shown warning");
    assert_int_equal (s_lines (fx), 1);
    zf_log_init (NULL, 1);
    zf_log_info ("shown info");
    zf_log_debug ("still hidden");
    assert_int_equal (s_lines (fx), 2);
    zf_log_init (NULL, 2);
    zf_log_debug ("shown debug");
    assert_int_equal (s_lines (fx), 3);
    assert_non_null (strstr (fx->text, "testsvc debug shown debug"));
}

static void
test_newlines_do_not_forge_records (void **state)
{
    fixture_t *fx = *state;
    zf_log_error ("message %s", "one\nfake 2026 record");
    assert_int_equal (s_lines (fx), 1);
}

static void
test_rate_limit (void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < ZF_LOG_BURST + 25; i++)
        zf_log_error ("repeated error n=%d", i);
    assert_int_equal (s_lines (fx), ZF_LOG_BURST);
    //  Another call site is not affected.
    zf_log_error ("different error");
    assert_int_equal (s_lines (fx), ZF_LOG_BURST + 1);
}

static void
test_sink_gets_errors_and_warnings (void **state)
{
    fixture_t *fx = *state;
    zf_log_init (NULL, 2);
    zf_log_info ("an info");
    zf_log_debug ("a debug");
    assert_int_equal (fx->sink_calls, 0);
    zf_log_warn ("a warning");
    assert_int_equal (fx->sink_calls, 1);
    assert_non_null (strstr (fx->sink_last, "warn|"));
    zf_log_error ("an error");
    assert_int_equal (fx->sink_calls, 2);
    assert_non_null (strstr (fx->sink_last, "error|"));
    assert_non_null (strstr (fx->sink_last, "an error"));
}

static void
test_level_names (void **state)
{
    assert_string_equal (zf_log_level_name (ZF_LOG_ERROR), "error");
    assert_string_equal (zf_log_level_name (ZF_LOG_WARN), "warn");
    assert_string_equal (zf_log_level_name (ZF_LOG_INFO), "info");
    assert_string_equal (zf_log_level_name (ZF_LOG_DEBUG), "debug");
    assert_string_equal (zf_log_level_name ((zf_log_level_t)9), "?");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_format, setup, teardown),
        cmocka_unit_test_setup_teardown (test_levels_quiet_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown (test_newlines_do_not_forge_records, setup, teardown),
        cmocka_unit_test_setup_teardown (test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown (test_sink_gets_errors_and_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown (test_level_names, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
