/*  Tests of the gateway's metrics: drops, limits and bus errors by service
    in the Prometheus text; the lag behind the registry and the health
    verdict that /metrics and /healthz share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway.h"
#include "metrics.h"

//  The value of the sample line that starts with name and a space, or -1.
static long
s_sample (const char *text, const char *name)
{
    char key[256];
    snprintf (key, sizeof key, "\n%s ", name);
    const char *line = strstr (text, key);
    long value = -1;
    if (line) sscanf (line + strlen (key), "%ld", &value);
    return value;
}

static void
test_drops_and_limits (void **state)
{
    zf_gw_metrics_t *metrics = zf_gw_metrics_new ();
    assert_non_null (metrics);
    zf_gw_metrics_dropped (metrics, ZF_GW_DROP_VIEWS, 1);
    zf_gw_metrics_dropped (metrics, ZF_GW_DROP_VIEWS, 2);
    zf_gw_metrics_dropped (metrics, ZF_GW_DROP_ANSWERS, 1);
    zf_gw_metrics_limit (metrics, ZF_GW_LIMIT_HANDOVER);
    zf_gw_metrics_limit (metrics, ZF_GW_LIMIT_CLIENTS);
    zf_gw_metrics_limit (metrics, ZF_GW_LIMIT_CLIENTS);
    size_t size = 0;
    char *text = zf_gw_metrics_render (metrics, &size);
    assert_non_null (text);
    assert_int_equal (strlen (text), size);
    assert_int_equal (s_sample (text, "zflow_gateway_dropped_total{what=\"views\"}"), 3);
    assert_int_equal (s_sample (text, "zflow_gateway_dropped_total{what=\"answers\"}"), 1);
    //  Every kind shows, at zero until it happens.
    assert_int_equal (s_sample (text, "zflow_gateway_dropped_total{what=\"requests\"}"), 0);
    assert_int_equal (
        s_sample (text, "zflow_gateway_limit_hits_total{limit=\"ZF_GW_MAX_HANDOVER\"}"), 1);
    assert_int_equal (s_sample (text, "zflow_gateway_limit_hits_total{limit=\"max_clients\"}"), 2);
    assert_int_equal (s_sample (text, "zflow_gateway_limit_hits_total{limit=\"ZF_GW_MAX_QUEUED\"}"),
                      0);
    assert_non_null (strstr (text, "# TYPE zflow_gateway_dropped_total counter\n"));
    assert_non_null (strstr (text, "# TYPE zflow_bus_errors_total counter\n"));
    free (text);
    zf_gw_metrics_destroy (&metrics);
    zf_gw_metrics_destroy (&metrics);
}

static void
test_bus_errors_by_service (void **state)
{
    zf_gw_metrics_t *metrics = zf_gw_metrics_new ();
    assert_non_null (metrics);
    zf_gw_metrics_bus_error (metrics, "registry");
    zf_gw_metrics_bus_error (metrics, "registry");
    zf_gw_metrics_bus_error (metrics, "dispatcher");
    zf_gw_metrics_bus_error (metrics, NULL);
    //  A name that would need escaping in a label is counted as other.
    zf_gw_metrics_bus_error (metrics, "bad\"name");
    //  Past the table, services are counted together.
    char name[128];
    for (int i = 0; i < ZF_GW_ERROR_SERVICES + 5; i++) {
        snprintf (name, sizeof name, "executor-%d", i);
        zf_gw_metrics_bus_error (metrics, name);
    }
    size_t size = 0;
    char *text = zf_gw_metrics_render (metrics, &size);
    assert_non_null (text);
    assert_int_equal (s_sample (text, "zflow_bus_errors_total{service=\"registry\"}"), 2);
    assert_int_equal (s_sample (text, "zflow_bus_errors_total{service=\"dispatcher\"}"), 1);
    assert_int_equal (s_sample (text, "zflow_bus_errors_total{service=\"unknown\"}"), 1);
    assert_int_equal (s_sample (text, "zflow_bus_errors_total{service=\"executor-0\"}"), 1);
    //  registry, dispatcher and unknown took three places of the table.
    int kept = ZF_GW_ERROR_SERVICES - 3;
    snprintf (name, sizeof name, "zflow_bus_errors_total{service=\"executor-%d\"}", kept - 1);
    assert_int_equal (s_sample (text, name), 1);
    snprintf (name, sizeof name, "zflow_bus_errors_total{service=\"executor-%d\"}", kept);
    assert_int_equal (s_sample (text, name), -1);
    assert_int_equal (s_sample (text, "zflow_bus_errors_total{service=\"other\"}"),
                      1 + (ZF_GW_ERROR_SERVICES + 5 - kept));
    assert_null (strstr (text, "bad\""));
    free (text);
    zf_gw_metrics_destroy (&metrics);
}

//  The /metrics text and the /healthz line and status of metrics.
static int
s_health (zf_gw_metrics_t *metrics, char **text, char *line, size_t size)
{
    size_t length = 0;
    free (*text);
    *text = zf_gw_metrics_render (metrics, &length);
    assert_non_null (*text);
    return zf_gw_metrics_health (metrics, line, size);
}

static void
test_lag_and_health (void **state)
{
    zf_gw_metrics_t *metrics = zf_gw_metrics_new ();
    assert_non_null (metrics);
    char *text = NULL;
    char line[160];
    //  Before the registry answered: not healthy, though nothing lags.
    zf_gw_metrics_replica (metrics, 0, 0, false);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 503);
    assert_string_equal (line, "registry not answering\n");
    assert_int_equal (s_sample (text, "zflow_gateway_lag_events"), 0);
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 0);
    assert_non_null (strstr (text, "# HELP zflow_gateway_lag_events "));
    assert_non_null (strstr (text, "# TYPE zflow_gateway_lag_events gauge\n"));

    //  In step by the replica's account, and the registry far ahead: the
    //  default maximum decides.
    zf_gw_metrics_replica (metrics, 1000, 0, true);
    zf_gw_metrics_registry (metrics, true, true, 1000 + ZF_GW_MAX_LAG + 1);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 503);
    char want[160];
    snprintf (want, sizeof want, "behind the registry by %d events (max %d)\n", ZF_GW_MAX_LAG + 1,
              ZF_GW_MAX_LAG);
    assert_string_equal (line, want);
    assert_int_equal (s_sample (text, "zflow_gateway_lag_events"), ZF_GW_MAX_LAG + 1);
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 0);
    assert_int_equal (s_sample (text, "zflow_registry_seq"), 1000);

    //  A higher maximum allows it.
    zf_gw_metrics_max_lag (metrics, ZF_GW_MAX_LAG + 1);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 200);
    snprintf (want, sizeof want, "ok lag_events=%d\n", ZF_GW_MAX_LAG + 1);
    assert_string_equal (line, want);
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 1);

    //  Caught up.
    zf_gw_metrics_replica (metrics, 1000 + ZF_GW_MAX_LAG + 5, 0, true);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 200);
    assert_string_equal (line, "ok lag_events=0\n");
    assert_int_equal (s_sample (text, "zflow_gateway_lag_events"), 0);
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 1);

    //  Out of step, then the registry silent: each said, synced 0.
    zf_gw_metrics_replica (metrics, 1000 + ZF_GW_MAX_LAG + 5, 0, false);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 503);
    assert_string_equal (line, "not in step with the registry\n");
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 0);
    zf_gw_metrics_replica (metrics, 1000 + ZF_GW_MAX_LAG + 5, 0, true);
    zf_gw_metrics_registry (metrics, false, true, 1000 + ZF_GW_MAX_LAG + 1);
    assert_int_equal (s_health (metrics, &text, line, sizeof line), 503);
    assert_string_equal (line, "registry not answering\n");
    assert_int_equal (s_sample (text, "zflow_gateway_synced"), 0);
    free (text);
    zf_gw_metrics_destroy (&metrics);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_drops_and_limits),
        cmocka_unit_test (test_bus_errors_by_service),
        cmocka_unit_test (test_lag_and_health),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
