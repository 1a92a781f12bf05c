/*  Tests of libs/service: usage and getopt from a table, loopback endpoints
    and the warning about the others, command lines built from a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_cmdline.h"
#include "zf_log.h"
#include "zf_service.h"

//  A program of the tests: a long head, a letter with a value, lines.
static const zf_option_t s_toy_options[] = {
    {ZF_OPT_BIND, "bind", "ENDPOINT", "where to listen"},
    {ZF_OPT_NO_WORKER_WAIT, "no-worker-wait", "DURATION", "first line\nsecond line"},
    {ZF_OPT_VERBOSE, "verbose", NULL, "more output"},
    {ZF_OPT_HELP, "help", NULL, "this text"},
    {0, NULL, NULL, NULL},
};
static const zf_service_def_t s_toy = {"toy", NULL, NULL, 20, s_toy_options};

//  What f wrote into a memory stream, as a string the caller frees.
static char *
s_render (void (*f) (const zf_service_def_t *, FILE *), const zf_service_def_t *def)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    assert_non_null (stream);
    f (def, stream);
    fclose (stream);
    return text;
}

static void
test_usage_from_the_table (void **state)
{
    char *text = s_render (zf_service_usage, &s_toy);
    assert_string_equal (text, "usage: zflow-toy [options]\n"
                               "  --bind ENDPOINT   where to listen\n"
                               "  --no-worker-wait DURATION  first line\n"
                               "                    second line\n"
                               "  -v, --verbose     more output\n"
                               "  -h, --help        this text\n");
    free (text);
    //  A program with a synopsis and a paragraph about it.
    text = s_render (zf_service_usage, &zf_gateway_def);
    assert_non_null (strstr (text, "usage: zflow-gateway [--http HOST:PORT] "));
    assert_non_null (strstr (text, "\n\nServes the live dashboard"));
    assert_non_null (strstr (text, "/healthz.\n\n  --http HOST:PORT         where to listen"));
    free (text);
}

static void
test_getopt_from_the_table (void **state)
{
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &s_toy, false);
    assert_string_equal (parser.shorts, "vh");
    assert_string_equal (parser.longs[0].name, "bind");
    assert_int_equal (parser.longs[0].has_arg, required_argument);
    assert_int_equal (parser.longs[0].val, ZF_OPT_BIND);
    assert_int_equal (parser.longs[2].has_arg, no_argument);
    assert_int_equal (parser.longs[2].val, 'v');
    assert_null (parser.longs[4].name);
    zf_service_getopt_init (&parser, &s_toy, true);
    assert_string_equal (parser.shorts, ":vh");

    //  Every program's options fit, and each name and meaning is there once.
    const zf_service_def_t *defs[] = {&zf_registry_def, &zf_dispatcher_def, &zf_executor_def,
                                      &zf_archiver_def, &zf_gateway_def,    &zf_settle_def};
    for (size_t d = 0; d < sizeof defs / sizeof defs[0]; d++) {
        zf_service_getopt_init (&parser, defs[d], false);
        for (int i = 0; parser.longs[i].name; i++)
            for (int j = i + 1; parser.longs[j].name; j++) {
                assert_string_not_equal (parser.longs[i].name, parser.longs[j].name);
                assert_int_not_equal (parser.longs[i].val, parser.longs[j].val);
            }
        assert_non_null (zf_service_option (defs[d], ZF_OPT_VERBOSE));
        assert_non_null (zf_service_option (defs[d], ZF_OPT_HELP));
    }
}

static void
test_loopback (void **state)
{
    assert_true (zf_service_is_loopback ("tcp://127.0.0.1:5570"));
    assert_true (zf_service_is_loopback ("tcp://127.1.2.3:*"));
    assert_true (zf_service_is_loopback ("tcp://localhost:5570"));
    assert_true (zf_service_is_loopback ("tcp://[::1]:5570"));
    assert_true (zf_service_is_loopback ("tcp://lo:5570"));
    assert_true (zf_service_is_loopback ("ipc:///tmp/zflow"));
    assert_true (zf_service_is_loopback ("inproc://registry"));
    assert_true (zf_service_is_loopback ("127.0.0.1:8080"));
    assert_true (zf_service_is_loopback ("::1:8080"));
    assert_false (zf_service_is_loopback ("tcp://*:5570"));
    assert_false (zf_service_is_loopback ("tcp://0.0.0.0:5570"));
    assert_false (zf_service_is_loopback ("tcp://192.0.2.1:5570"));
    assert_false (zf_service_is_loopback ("tcp://[::]:5570"));
    assert_false (zf_service_is_loopback ("tcp://eth0:5570"));
    assert_false (zf_service_is_loopback ("tcp://128.0.0.1:5570"));
    assert_false (zf_service_is_loopback ("tcp://127.0.0.1.example:5570"));
    assert_false (zf_service_is_loopback ("0.0.0.0:8080"));
    assert_false (zf_service_is_loopback ("*:8080"));
}

//  What the warning writes for binds, into text (size bytes): the number
//  of lines.
static int
s_warn (const char *const *binds, size_t count, char *text, size_t size)
{
    char *buffer = NULL;
    size_t length = 0;
    FILE *stream = open_memstream (&buffer, &length);
    zf_log_init ("toy", 0);
    zf_log_set_stream (stream);
    zf_service_warn_exposed (binds, count);
    zf_log_set_stream (NULL);
    fclose (stream);
    snprintf (text, size, "%s", buffer);
    int lines = 0;
    for (size_t i = 0; i < length; i++)
        lines += buffer[i] == '\n';
    free (buffer);
    return lines;
}

static void
test_warning_once_for_what_is_not_loopback (void **state)
{
    char text[1024];
    const char *loopback[] = {"tcp://127.0.0.1:5570", NULL, "tcp://localhost:5571"};
    assert_int_equal (s_warn (loopback, 3, text, sizeof text), 0);
    assert_int_equal (s_warn (NULL, 0, text, sizeof text), 0);

    const char *one[] = {"tcp://*:5570", "tcp://127.0.0.1:5571"};
    assert_int_equal (s_warn (one, 2, text, sizeof text), 1);
    assert_non_null (strstr (text, " toy warn "));
    assert_non_null (strstr (text, "neither authenticated nor encrypted"));
    assert_non_null (strstr (text, "endpoints=tcp://*:5570\n"));

    const char *two[] = {"tcp://192.0.2.1:5570", NULL, "tcp://0.0.0.0:5571"};
    assert_int_equal (s_warn (two, 3, text, sizeof text), 1);
    assert_non_null (strstr (text, "endpoints=tcp://192.0.2.1:5570,tcp://0.0.0.0:5571\n"));
}

static void
test_cmdline_from_the_table (void **state)
{
    zf_cmdline_t *cmdline = zf_cmdline_new (&zf_registry_def);
    assert_non_null (cmdline);
    zf_cmdline_add (cmdline, ZF_OPT_BIND, "tcp://127.0.0.1:5570");
    zf_cmdline_add (cmdline, ZF_OPT_KEEP_RUNS, "3");
    zf_cmdline_verbose (cmdline, 2);
    char *const *argv = zf_cmdline_argv (cmdline);
    assert_non_null (argv);
    assert_string_equal (zf_cmdline_program (cmdline), "zflow-registry");
    assert_string_equal (argv[0], "zflow-registry");
    assert_string_equal (argv[1], "--bind");
    assert_string_equal (argv[2], "tcp://127.0.0.1:5570");
    assert_string_equal (argv[3], "--keep-runs");
    assert_string_equal (argv[4], "3");
    assert_string_equal (argv[5], "-vv");
    assert_null (argv[6]);
    assert_string_equal (zf_cmdline_error (cmdline), "");
    char why[256] = "";
    assert_int_equal (zf_cmdline_check (&zf_registry_def, argv, why, sizeof why), 0);
    zf_cmdline_destroy (&cmdline);
    assert_null (cmdline);

    //  An option the program does not take breaks the command line.
    cmdline = zf_cmdline_new (&zf_registry_def);
    zf_cmdline_add (cmdline, ZF_OPT_STORE, "sqlite:x.db");
    zf_cmdline_add (cmdline, ZF_OPT_BIND, "tcp://127.0.0.1:5570");
    assert_null (zf_cmdline_argv (cmdline));
    assert_non_null (strstr (zf_cmdline_error (cmdline), "zflow-registry: has no option"));
    zf_cmdline_destroy (&cmdline);
    //  So does a value too many or too few.
    cmdline = zf_cmdline_new (&zf_executor_def);
    zf_cmdline_add (cmdline, ZF_OPT_HELP, "now");
    assert_null (zf_cmdline_argv (cmdline));
    assert_string_equal (zf_cmdline_error (cmdline), "zflow-executor: --help takes no value");
    zf_cmdline_destroy (&cmdline);
    cmdline = zf_cmdline_new (&zf_executor_def);
    zf_cmdline_add (cmdline, ZF_OPT_NAME, NULL);
    assert_null (zf_cmdline_argv (cmdline));
    assert_string_equal (zf_cmdline_error (cmdline), "zflow-executor: --name needs a value");
    zf_cmdline_destroy (&cmdline);
}

static void
test_check_reads_as_the_program_would (void **state)
{
    char why[256];
    char *good[] = {"zflow-archiver", "--store",           "sqlite:x.db", "-v",
                    "--bind",         "tcp://127.0.0.1:1", NULL};
    assert_int_equal (zf_cmdline_check (&zf_archiver_def, good, why, sizeof why), 0);
    //  The order it was given in is left alone.
    assert_string_equal (good[1], "--store");

    char *unknown[] = {"zflow-archiver", "--keep-runs", "3", NULL};
    assert_int_equal (zf_cmdline_check (&zf_archiver_def, unknown, why, sizeof why), -1);
    assert_string_equal (why, "zflow-archiver: no option '--keep-runs'");
    char *missing[] = {"zflow-archiver", "--store", NULL};
    assert_int_equal (zf_cmdline_check (&zf_archiver_def, missing, why, sizeof why), -1);
    assert_string_equal (why, "zflow-archiver: no value for '--store'");
    char *stray[] = {"zflow-archiver", "-v", "extra", NULL};
    assert_int_equal (zf_cmdline_check (&zf_archiver_def, stray, why, sizeof why), -1);
    assert_string_equal (why, "zflow-archiver: unexpected argument 'extra'");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_usage_from_the_table),
        cmocka_unit_test (test_getopt_from_the_table),
        cmocka_unit_test (test_loopback),
        cmocka_unit_test (test_warning_once_for_what_is_not_loopback),
        cmocka_unit_test (test_cmdline_from_the_table),
        cmocka_unit_test (test_check_reads_as_the_program_would),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
