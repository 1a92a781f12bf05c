/*  Tests of libs/render: durations, one-line details, event lines, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "zf_render.h"

static void
test_duration (void **state)
{
    char buf[ZF_RENDER_DURATION_TEXT];
    assert_string_equal (zf_render_duration (0, buf, sizeof buf), "0.0s");
    assert_string_equal (zf_render_duration (-5, buf, sizeof buf), "0.0s");
    assert_string_equal (zf_render_duration (399, buf, sizeof buf), "0.3s");
    assert_string_equal (zf_render_duration (1234, buf, sizeof buf), "1.2s");
    assert_string_equal (zf_render_duration (59999, buf, sizeof buf), "59.9s");
    assert_string_equal (zf_render_duration (60000, buf, sizeof buf), "1m00s");
    assert_string_equal (zf_render_duration (184000, buf, sizeof buf), "3m04s");
    assert_string_equal (zf_render_duration (7500000, buf, sizeof buf), "2h05m");
    assert_string_equal (zf_render_duration (3 * 86400000 + 4 * 3600000, buf, sizeof buf), "3d04h");
}

static void
test_oneline (void **state)
{
    char buf[64];
    assert_string_equal (zf_render_oneline (NULL, 40, buf, sizeof buf), "");
    assert_string_equal (zf_render_oneline ("\n  \n", 40, buf, sizeof buf), "");
    assert_string_equal (
        zf_render_oneline ("loading\n  boom: no prices\t now \n\n", 40, buf, sizeof buf),
        "boom: no prices  now");
    //  Cut with "..." and never inside a UTF-8 character (é is two bytes).
    assert_string_equal (zf_render_oneline ("abcdefghij", 8, buf, sizeof buf), "abcde...");
    assert_string_equal (zf_render_oneline ("abcd\xc3\xa9xyz", 8, buf, sizeof buf), "abcd...");
    //  The buffer bounds the line too.
    char small[6];
    assert_string_equal (zf_render_oneline ("abcdefghij", 40, small, sizeof small), "ab...");
}

//  Renders an event's text line into a string (the caller frees it).
static char *
s_text (const zf_event_t *event, bool snapshot)
{
    char *line = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&line, &size);
    zf_render_event_text (event, snapshot, stream);
    fclose (stream);
    return line;
}

static void
test_event_text (void **state)
{
    zf_date_t date;
    zf_date_parse ("2026-11-24", &date);
    zf_event_t task = {.seq = 42,
                       .time = 1795478400123,
                       .kind = ZF_EV_TASK,
                       .state = ZF_TS_FAILED,
                       .flow = "eod",
                       .version = 3,
                       .date = date,
                       .task = "accrue",
                       .shard = 2,
                       .attempt = 2,
                       .exit_status = 1,
                       .executor = "e1",
                       .detail = "step 1\nno prices\n"};
    char *line = s_text (&task, false);
    //  Local time first; the rest does not depend on the zone.
    assert_int_equal (line[4], '-');
    assert_int_equal (line[19], '.');
    assert_non_null (strstr (line, " #42 "));
    assert_non_null (strstr (line, " task "));
    assert_non_null (
        strstr (line, "eod 2026-11-24 accrue[2] failed attempt 2 on e1 exit 1: no prices\n"));
    //  One line, ending with its newline.
    size_t length = strlen (line);
    assert_true (length > 0 && line[length - 1] == '\n');
    assert_ptr_equal (strchr (line, '\n'), line + length - 1);
    free (line);
    zf_event_t run = {.seq = 0,
                      .kind = ZF_EV_RUN,
                      .state = ZF_RS_SUCCEEDED,
                      .flow = "eod",
                      .version = 3,
                      .date = date,
                      .shard = ZF_SHARD_WHOLE};
    line = s_text (&run, true);
    assert_non_null (strstr (line, " snapshot "));
    assert_non_null (strstr (line, "eod 2026-11-24 v3 succeeded\n"));
    free (line);
}

static void
test_epoch_text (void **state)
{
    //  A takeover: the term, the registry that took it, how.
    zf_event_t epoch = {.seq = 1207,
                        .time = 1795478400123,
                        .kind = ZF_EV_EPOCH,
                        .date = ZF_DATE_NONE,
                        .shard = ZF_SHARD_WHOLE,
                        .value = 3,
                        .executor = "backup",
                        .detail = "took over from=the active's events at seq 1206 "
                                  "reason=\"the active peer is silent and a client turned here\""};
    char *line = s_text (&epoch, false);
    //  The columns every line shares, then the event's own text.
    assert_string_equal (line + 23, " #1207     epoch       term 3 backup: took over from=the "
                                    "active's events at seq 1206 reason=\"the active peer is "
                                    "silent and a client turned here\"\n");
    free (line);
    //  A registry alone; the detail on one line, cut when long.
    epoch.executor = "registry";
    epoch.detail = "started from=the archiver at seq 120\n";
    line = s_text (&epoch, false);
    assert_non_null (strstr (line, " epoch       term 3 registry: started from=the archiver "
                                   "at seq 120\n"));
    free (line);
    char long_detail[2 * ZF_RENDER_DETAIL_MAX];
    memset (long_detail, 'x', sizeof long_detail - 1);
    long_detail[sizeof long_detail - 1] = 0;
    epoch.detail = long_detail;
    line = s_text (&epoch, false);
    char text[512];
    snprintf (text, sizeof text, "%s", line);
    free (line);
    //  ": ", the detail cut to ZF_RENDER_DETAIL_MAX with "...", the newline.
    const char *cut = strstr (text, "term 3 registry: xxx");
    assert_non_null (cut);
    assert_int_equal (strlen (cut), strlen ("term 3 registry: ") + ZF_RENDER_DETAIL_MAX + 1);
    assert_string_equal (text + strlen (text) - 4, "...\n");
    //  A snapshot's EPOCH: the term alone, as before.
    zf_event_t item = {
        .kind = ZF_EV_EPOCH, .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE, .value = 3};
    line = s_text (&item, true);
    assert_string_equal (line, "-                       snapshot  epoch       term 3\n");
    free (line);
}

static void
test_event_json (void **state)
{
    zf_event_t event = {.seq = 7,
                        .time = 1795478400123,
                        .kind = ZF_EV_TASK,
                        .state = ZF_TS_RUNNING,
                        .flow = "eod",
                        .version = 3,
                        .date = ZF_DATE_NONE,
                        .task = "load",
                        .shard = ZF_SHARD_WHOLE,
                        .attempt = 1,
                        .executor = "e1",
                        .detail = "bad \xff byte"};
    json_t *object = zf_render_event_json (&event, false);
    assert_non_null (object);
    assert_string_equal (json_string_value (json_object_get (object, "kind")), "task");
    assert_string_equal (json_string_value (json_object_get (object, "state")), "running");
    assert_string_equal (json_string_value (json_object_get (object, "topic")), "task.eod");
    assert_string_equal (json_string_value (json_object_get (object, "time")),
                         "2026-11-24T00:00:00.123Z");
    assert_true (json_is_null (json_object_get (object, "date")));
    assert_true (json_is_null (json_object_get (object, "shard")));
    assert_true (json_is_false (json_object_get (object, "snapshot")));
    //  Bytes that are not UTF-8 become U+FFFD, so the line stays JSON.
    assert_string_equal (json_string_value (json_object_get (object, "detail")),
                         "bad \xef\xbf\xbd byte");
    json_decref (object);
}

static void
test_run_json (void **state)
{
    zf_task_status_t tasks[3] = {
        {.id = "a", .state = ZF_TS_CONFIRMED, .attempt = 1, .started = 1000, .ended = 2000},
        {.id = "b", .state = ZF_TS_FAILED, .attempt = 3},
        {.id = "c", .state = ZF_TS_SUCCEEDED, .shards_total = 2, .shards_done = 2},
    };
    zf_run_status_t run = {.flow = "eod",
                           .date = 0,
                           .version = 1,
                           .state = ZF_RS_FAILED,
                           .tasks = tasks,
                           .task_count = 3};
    json_t *object = zf_render_run_json (&run);
    assert_string_equal (json_string_value (json_object_get (object, "date")), "1970-01-01");
    assert_string_equal (json_string_value (json_object_get (object, "state")), "failed");
    json_t *list = json_object_get (object, "tasks");
    json_t *a = json_array_get (list, 0);
    json_t *b = json_array_get (list, 1);
    json_t *c = json_array_get (list, 2);
    assert_int_equal (json_integer_value (json_object_get (a, "shards_total")), 1);
    assert_int_equal (json_integer_value (json_object_get (a, "shards_done")), 1);
    assert_string_equal (json_string_value (json_object_get (a, "started")),
                         "1970-01-01T00:00:01.000Z");
    assert_int_equal (json_integer_value (json_object_get (b, "shards_done")), 0);
    assert_int_equal (json_integer_value (json_object_get (b, "shards_failed")), 1);
    assert_int_equal (json_integer_value (json_object_get (c, "shards_total")), 2);
    assert_int_equal (json_integer_value (json_object_get (c, "shards_done")), 2);
    json_decref (object);
}

int
main (void)
{
    //  A fixed zone, so local times are the same on every machine.
    setenv ("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_duration),   cmocka_unit_test (test_oneline),
        cmocka_unit_test (test_event_text), cmocka_unit_test (test_epoch_text),
        cmocka_unit_test (test_event_json), cmocka_unit_test (test_run_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
