/*  Tests of `zflow up`'s plan: every service it starts gets a command line
    built from that service's table, which the service reads as its own
    main() does, with the endpoints of the base port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "up.h"
#include "zf_cmdline.h"

//  The value after option name in the command line of service, or NULL.
static const char *
s_value (const zf_up_plan_t *plan, const char *service, const char *name)
{
    for (int i = 0; i < plan->count; i++) {
        if (strcmp (plan->names[i], service) != 0) continue;
        char *const *argv = zf_cmdline_argv (plan->commands[i]);
        for (int a = 1; argv && argv[a]; a++)
            if (strcmp (argv[a], name) == 0) return argv[a + 1] ? argv[a + 1] : "";
    }
    return NULL;
}

//  The names of plan's services, space-separated, in start order.
static void
s_names (const zf_up_plan_t *plan, char *text, size_t size)
{
    text[0] = 0;
    for (int i = 0; i < plan->count; i++)
        snprintf (text + strlen (text), size - strlen (text), "%s%s", i ? " " : "", plan->names[i]);
}

//  Plans cfg and checks every command line against its program's table.
static void
s_plan_and_check (const zf_up_config_t *cfg, bool with_archiver, bool with_gateway,
                  zf_up_plan_t *plan)
{
    assert_int_equal (zf_up_plan (cfg, with_archiver, with_gateway, plan), 0);
    for (int i = 0; i < plan->count; i++) {
        char *const *argv = zf_cmdline_argv (plan->commands[i]);
        assert_non_null (argv);
        char why[256] = "";
        if (zf_cmdline_check (zf_cmdline_def (plan->commands[i]), argv, why, sizeof why) != 0)
            fail_msg ("%s: %s", plan->names[i], why);
    }
}

static void
test_every_command_line_is_one_its_service_takes (void **state)
{
    const char *keeps[] = {NULL, "3"};
    const int executors[] = {0, 2, ZF_UP_MAX_EXECUTORS};
    for (int k = 0; k < 2; k++)
        for (int e = 0; e < 3; e++)
            for (int verbose = 0; verbose <= 4; verbose += 2)
                for (int parts = 0; parts < 8; parts++) {
                    zf_up_config_t cfg;
                    zf_up_defaults (&cfg);
                    cfg.keep = keeps[k];
                    cfg.executors = executors[e];
                    cfg.verbose = verbose;
                    cfg.example_worker = parts & 4;
                    cfg.store = parts & 1 ? "postgresql://db/zflow" : NULL;
                    zf_up_plan_t plan;
                    s_plan_and_check (&cfg, parts & 1, parts & 2, &plan);
                    int others =
                        2 + (parts & 1 ? 1 : 0) + (parts & 2 ? 1 : 0) + (parts & 4 ? 1 : 0);
                    assert_int_equal (plan.count, executors[e] + others);
                    zf_up_plan_clear (&plan);
                    assert_int_equal (plan.count, 0);
                }
}

static void
test_the_services_and_their_endpoints (void **state)
{
    zf_up_config_t cfg;
    zf_up_defaults (&cfg);
    cfg.base_port = 6000;
    cfg.dir = "/srv/zf";
    cfg.keep = "3";
    cfg.executors = 2;
    cfg.example_worker = true;
    cfg.verbose = 5;
    zf_up_plan_t plan;
    s_plan_and_check (&cfg, true, true, &plan);
    char names[512];
    s_names (&plan, names, sizeof names);
    assert_string_equal (names,
                         "dispatcher registry settle executor-1 executor-2 archiver gateway");
    assert_string_equal (s_value (&plan, "dispatcher", "--bind"), "tcp://127.0.0.1:6000");
    assert_string_equal (s_value (&plan, "dispatcher", "--events"), "tcp://127.0.0.1:6001");
    assert_string_equal (s_value (&plan, "registry", "--bind"), "tcp://127.0.0.1:6010");
    assert_string_equal (s_value (&plan, "registry", "--events"), "tcp://127.0.0.1:6011");
    assert_string_equal (s_value (&plan, "registry", "--dispatcher"), "tcp://127.0.0.1:6000");
    assert_string_equal (s_value (&plan, "registry", "--archiver"), "tcp://127.0.0.1:6014");
    assert_string_equal (s_value (&plan, "registry", "--keep-runs"), "3");
    assert_string_equal (s_value (&plan, "registry", "--dir"), "/srv/zf");
    assert_string_equal (s_value (&plan, "settle", "--name"), "settle-1");
    assert_string_equal (s_value (&plan, "executor-2", "--name"), "executor-2");
    assert_string_equal (s_value (&plan, "executor-2", "--log-dir"), "/srv/zf/logs");
    assert_string_equal (s_value (&plan, "archiver", "--bind"), "tcp://127.0.0.1:6014");
    assert_string_equal (s_value (&plan, "archiver", "--registry"), "tcp://127.0.0.1:6010");
    assert_string_equal (s_value (&plan, "archiver", "--store"), "sqlite:/srv/zf/zflow.db");
    assert_string_equal (s_value (&plan, "gateway", "--http"), "127.0.0.1:8080");
    assert_string_equal (s_value (&plan, "gateway", "--dispatcher-events"), "tcp://127.0.0.1:6001");
    assert_string_equal (s_value (&plan, "gateway", "--token-file"), "/srv/zf/gateway.token");
    //  -v at most three times, to every service.
    for (int i = 0; i < plan.count; i++)
        assert_non_null (s_value (&plan, plan.names[i], "-vvv"));
    zf_up_plan_clear (&plan);

    //  Without an archiver, the registry keeps every run and recovers from nothing.
    cfg.verbose = 0;
    s_plan_and_check (&cfg, false, false, &plan);
    assert_null (s_value (&plan, "registry", "--archiver"));
    assert_null (s_value (&plan, "registry", "--keep-runs"));
    assert_null (s_value (&plan, "registry", "-v"));
    s_names (&plan, names, sizeof names);
    assert_string_equal (names, "dispatcher registry settle executor-1 executor-2");
    zf_up_plan_clear (&plan);
}

//  A pair: both registries, each told the other's endpoints and the
//  heartbeat given.
static void
test_the_pair (void **state)
{
    zf_up_config_t cfg;
    zf_up_defaults (&cfg);
    cfg.base_port = 6000;
    cfg.dir = "/srv/zf";
    cfg.pair = 1;
    cfg.beat = "100ms";
    zf_up_plan_t plan;
    s_plan_and_check (&cfg, true, false, &plan);
    assert_string_equal (s_value (&plan, "registry", "--pair"), "primary");
    assert_string_equal (s_value (&plan, "registry-backup", "--pair"), "backup");
    assert_string_equal (s_value (&plan, "registry", "--peer-bind"), "tcp://127.0.0.1:6020");
    assert_string_equal (s_value (&plan, "registry", "--peer"), "tcp://127.0.0.1:6021");
    assert_string_equal (s_value (&plan, "registry-backup", "--peer"), "tcp://127.0.0.1:6020");
    assert_string_equal (s_value (&plan, "registry", "--peer-heartbeat"), "100ms");
    assert_string_equal (s_value (&plan, "registry-backup", "--peer-heartbeat"), "100ms");
    assert_string_equal (s_value (&plan, "archiver", "--registry"),
                         "tcp://127.0.0.1:6010,tcp://127.0.0.1:6012");
    zf_up_plan_clear (&plan);
    //  Without the flag, the registries' own default.
    cfg.beat = NULL;
    s_plan_and_check (&cfg, true, false, &plan);
    assert_null (s_value (&plan, "registry", "--peer-heartbeat"));
    zf_up_plan_clear (&plan);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_command_line_is_one_its_service_takes),
        cmocka_unit_test (test_the_services_and_their_endpoints),
        cmocka_unit_test (test_the_pair),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
