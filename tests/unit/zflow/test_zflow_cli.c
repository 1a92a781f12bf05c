/*  The zflow binary's registry verbs against a fake registry: what each one
    sends, what it prints, and the exit-status contract (0 ok, 1 one line on
    stderr, 2 a usage line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "fake_registry.h"

//  Every run of the binary ends well within this.
#define S_RUN_MS 20000

//  Each test's fake registry and the last run's output.
typedef struct {
    fake_registry_t *fake;   //  the registry the binary talks to
    zf_proto_decoder_t *dec; //  requests the fake received
    char *out;               //  the last run's stdout
    char *err;               //  the last run's stderr
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    self->fake = fake_registry_new ();
    self->dec = zf_proto_decoder_new ();
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    fake_registry_destroy (&self->fake);
    zf_proto_decoder_destroy (&self->dec);
    free (self->out);
    free (self->err);
    free (self);
    return 0;
}

//  Runs bin/zflow with the arguments (NULL-ended) against the fake; returns
//  the exit status and keeps the output in the fixture.
static int __attribute__ ((sentinel)) s_zflow (fixture_t *self, ...)
{
    char *argv[32] = {"zflow"};
    int argc = 1;
    va_list args;
    va_start (args, self);
    for (char *arg = va_arg (args, char *); arg && argc < 31; arg = va_arg (args, char *))
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    free (self->out);
    free (self->err);
    return child_run ("zflow", fake_registry_endpoint (self->fake), argv, S_RUN_MS, &self->out,
                      &self->err);
}

//  Lines in text.
static int
s_lines (const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

//  The failure contract: exactly one line on stderr, holding needle.
static void
s_one_line_error (fixture_t *self, const char *needle)
{
    if (s_lines (self->err) != 1 || !strstr (self->err, needle))
        print_error ("stderr: %s\n", self->err);
    assert_int_equal (s_lines (self->err), 1);
    assert_non_null (strstr (self->err, needle));
}

//  The bad-usage contract: a message and a usage line on stderr.
static void
s_usage_error (fixture_t *self, const char *needle)
{
    if (!strstr (self->err, needle)) print_error ("stderr: %s\n", self->err);
    assert_non_null (strstr (self->err, needle));
    assert_non_null (strstr (self->err, "\nusage: zflow "));
    assert_string_equal (self->out, "");
}

//  A run of eod with one task of each kind the table shows.
static void
s_eod_run (zf_run_status_t *run, zf_task_status_t tasks[5])
{
    zf_date_parse ("2026-11-24", &run->date);
    run->flow = "eod";
    run->version = 3;
    run->state = ZF_RS_RUNNING;
    run->started = 1795478400000; //  2026-11-24T00:00:00Z
    run->tasks = tasks;
    run->task_count = 5;
    tasks[0] = (zf_task_status_t){.id = "start",
                                  .state = ZF_TS_SUCCEEDED,
                                  .attempt = 1,
                                  .started = run->started,
                                  .ended = run->started + 1200,
                                  .executor = "e1"};
    tasks[1] = (zf_task_status_t){.id = "accrue",
                                  .state = ZF_TS_RUNNING,
                                  .attempt = 1,
                                  .shards_total = 3,
                                  .shards_done = 2,
                                  .started = run->started + 2000,
                                  .executor = "e2"};
    tasks[2] = (zf_task_status_t){.id = "settle",
                                  .state = ZF_TS_FAILED,
                                  .attempt = 2,
                                  .shards_total = 2,
                                  .shards_done = 1,
                                  .shards_failed = 1,
                                  .started = run->started + 3000,
                                  .ended = run->started + 3000 + 184000,
                                  .executor = "e1",
                                  .exit_status = 2,
                                  .detail = "loading\nboom: no prices for fx\n\n"};
    tasks[3] = (zf_task_status_t){.id = "report", .state = ZF_TS_WAITING};
    tasks[4] = (zf_task_status_t){
        .id = "archive", .state = ZF_TS_SKIPPED, .shards_total = 2, .shards_done = 2};
}

//  Registers a STATUS_REPLY with the given runs.
static void
s_status_reply (fixture_t *self, const zf_run_status_t *runs, size_t count)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, 0);
    reply.runs = runs;
    reply.run_count = count;
    fake_registry_reply (self->fake, ZF_BODY_STATUS, &reply);
}

//  Registers an ERROR reply for a request type.
static void
s_error_reply (fixture_t *self, int type, int code, const char *message)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 0);
    reply.code = (uint8_t)code;
    reply.text = message;
    fake_registry_reply (self->fake, type, &reply);
}

//  Registers an OK reply for a request type.
static void
s_ok_reply (fixture_t *self, int type, const char *note, bool has_number, int64_t number)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_OK, 0);
    reply.text = note;
    reply.has_number = has_number;
    reply.number = number;
    fake_registry_reply (self->fake, type, &reply);
}

//  The row of the table that starts with task.
static const char *
s_row (const char *out, const char *task)
{
    char start[160];
    snprintf (start, sizeof start, "\n%s ", task);
    const char *row = strstr (out, start);
    assert_non_null (row);
    return row + 1;
}

//  True if the row (up to its newline) contains needle.
static bool
s_row_has (const char *row, const char *needle)
{
    const char *end = strchr (row, '\n');
    const char *hit = strstr (row, needle);
    return hit && (!end || hit < end);
}

static void
test_status_table (void **state)
{
    fixture_t *self = *state;
    zf_run_status_t run = {0};
    zf_task_status_t tasks[5];
    s_eod_run (&run, tasks);
    s_status_reply (self, &run, 1);
    assert_int_equal (s_zflow (self, "status", "eod", NULL), 0);
    assert_string_equal (self->err, "");
    assert_true (strncmp (self->out, "eod 2026-11-24  version 3  running", 34) == 0);
    assert_non_null (strstr (self->out, "\nTASK "));
    const char *row = s_row (self->out, "start");
    assert_true (s_row_has (row, "succeeded"));
    assert_true (s_row_has (row, " - "));
    assert_true (s_row_has (row, "1.2s"));
    row = s_row (self->out, "accrue");
    assert_true (s_row_has (row, "running"));
    assert_true (s_row_has (row, "2/3"));
    row = s_row (self->out, "settle");
    assert_true (s_row_has (row, "failed"));
    assert_true (s_row_has (row, "1/2 (1 failed)"));
    assert_true (s_row_has (row, "3m04s"));
    assert_true (s_row_has (row, "exit 2: boom: no prices for fx"));
    row = s_row (self->out, "report");
    assert_true (s_row_has (row, "waiting"));
    //  The request: this flow, its latest run.
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_STATUS, self->dec, &req));
    assert_string_equal (req.flow, "eod");
    assert_int_equal (req.date, ZF_DATE_NONE);
}

static void
test_status_json (void **state)
{
    fixture_t *self = *state;
    zf_run_status_t run = {0};
    zf_task_status_t tasks[5];
    s_eod_run (&run, tasks);
    s_status_reply (self, &run, 1);
    assert_int_equal (s_zflow (self, "status", "eod", "--date", "2026-11-24", "--json", NULL), 0);
    assert_int_equal (s_lines (self->out), 1);
    json_error_t error;
    json_t *root = json_loads (self->out, 0, &error);
    assert_non_null (root);
    assert_true (json_is_object (root));
    assert_string_equal (json_string_value (json_object_get (root, "flow")), "eod");
    assert_string_equal (json_string_value (json_object_get (root, "date")), "2026-11-24");
    assert_int_equal (json_integer_value (json_object_get (root, "version")), 3);
    assert_string_equal (json_string_value (json_object_get (root, "state")), "running");
    assert_true (json_is_false (json_object_get (root, "paused")));
    assert_string_equal (json_string_value (json_object_get (root, "started")),
                         "2026-11-24T00:00:00.000Z");
    assert_true (json_is_null (json_object_get (root, "ended")));
    json_t *list = json_object_get (root, "tasks");
    assert_int_equal (json_array_size (list), 5);
    static const char *keys[] = {"id",          "state",         "attempt", "shards_total",
                                 "shards_done", "shards_failed", "started", "ended",
                                 "executor",    "exit_status",   "detail"};
    for (size_t i = 0; i < json_array_size (list); i++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            assert_non_null (json_object_get (json_array_get (list, i), keys[k]));
    //  An unsharded task that is done counts one shard of one.
    json_t *start = json_array_get (list, 0);
    assert_string_equal (json_string_value (json_object_get (start, "id")), "start");
    assert_string_equal (json_string_value (json_object_get (start, "state")), "succeeded");
    assert_int_equal (json_integer_value (json_object_get (start, "shards_total")), 1);
    assert_int_equal (json_integer_value (json_object_get (start, "shards_done")), 1);
    assert_string_equal (json_string_value (json_object_get (start, "ended")),
                         "2026-11-24T00:00:01.200Z");
    assert_string_equal (json_string_value (json_object_get (start, "executor")), "e1");
    json_t *settle = json_array_get (list, 2);
    assert_int_equal (json_integer_value (json_object_get (settle, "shards_total")), 2);
    assert_int_equal (json_integer_value (json_object_get (settle, "shards_failed")), 1);
    assert_int_equal (json_integer_value (json_object_get (settle, "exit_status")), 2);
    assert_string_equal (json_string_value (json_object_get (settle, "detail")),
                         "loading\nboom: no prices for fx\n\n");
    json_t *report = json_array_get (list, 3);
    assert_int_equal (json_integer_value (json_object_get (report, "shards_done")), 0);
    assert_true (json_is_null (json_object_get (report, "executor")));
    assert_true (json_is_null (json_object_get (report, "started")));
    //  Two shards, both done: 2 of 2.
    json_t *archive = json_array_get (list, 4);
    assert_int_equal (json_integer_value (json_object_get (archive, "shards_total")), 2);
    assert_int_equal (json_integer_value (json_object_get (archive, "shards_done")), 2);
    json_decref (root);
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_STATUS, self->dec, &req));
    zf_date_t date;
    zf_date_parse ("2026-11-24", &date);
    assert_int_equal (req.date, date);
}

static void
test_status_all_flows (void **state)
{
    fixture_t *self = *state;
    zf_run_status_t runs[2] = {{0}, {0}};
    zf_task_status_t tasks[5];
    s_eod_run (&runs[0], tasks);
    runs[1] = runs[0];
    runs[1].flow = "billing";
    runs[1].state = ZF_RS_SUCCEEDED;
    runs[1].paused = true;
    s_status_reply (self, runs, 2);
    assert_int_equal (s_zflow (self, "status", "--json", NULL), 0);
    json_t *root = json_loads (self->out, 0, NULL);
    assert_true (json_is_array (root));
    assert_int_equal (json_array_size (root), 2);
    json_t *billing = json_array_get (root, 1);
    assert_string_equal (json_string_value (json_object_get (billing, "flow")), "billing");
    assert_true (json_is_true (json_object_get (billing, "paused")));
    json_decref (root);
    //  Text: one table per run.
    assert_int_equal (s_zflow (self, "status", NULL), 0);
    assert_true (strncmp (self->out, "eod 2026-11-24", 14) == 0);
    assert_non_null (strstr (self->out, "\n\nbilling 2026-11-24  version 3  succeeded"));
    assert_non_null (strstr (self->out, "paused\n"));
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_STATUS, self->dec, &req));
    assert_null (req.flow);
}

static void
test_status_empty (void **state)
{
    fixture_t *self = *state;
    s_status_reply (self, NULL, 0);
    assert_int_equal (s_zflow (self, "status", NULL), 0);
    assert_string_equal (self->out, "no runs yet\n");
    assert_int_equal (s_zflow (self, "status", "--json", NULL), 0);
    assert_string_equal (self->out, "[]\n");
    //  A flow that was never started: text says so; JSON has no object.
    assert_int_equal (s_zflow (self, "status", "eod", NULL), 0);
    assert_string_equal (self->out, "eod has no run yet\n");
    assert_int_equal (s_zflow (self, "status", "eod", "--json", NULL), 1);
    s_one_line_error (self, "eod has no run yet");
    assert_string_equal (self->out, "");
}

static void
test_status_unknown_flow (void **state)
{
    fixture_t *self = *state;
    s_error_reply (self, ZF_BODY_STATUS, ZF_ERR_UNKNOWN_FLOW, "no flow named nope");
    assert_int_equal (s_zflow (self, "status", "nope", "--json", NULL), 1);
    s_one_line_error (self, "no flow named nope");
    assert_string_equal (self->out, "");
}

static void
test_unreachable (void **state)
{
    fixture_t *self = *state;
    //  Nothing registered for STATUS: the fake never answers.
    setenv ("ZFLOW_REQUEST_TIMEOUT", "300ms", 1);
    assert_int_equal (s_zflow (self, "status", "eod", NULL), 1);
    unsetenv ("ZFLOW_REQUEST_TIMEOUT");
    s_one_line_error (self, "cannot reach the registry at ");
    assert_non_null (strstr (self->err, fake_registry_endpoint (self->fake)));
}

static void
test_registry_flag (void **state)
{
    fixture_t *self = *state;
    s_status_reply (self, NULL, 0);
    char *argv[] = {"zflow", "status", "--registry", (char *)fake_registry_endpoint (self->fake),
                    NULL};
    free (self->out);
    free (self->err);
    //  The flag wins over ZFLOW_REGISTRY, which points nowhere.
    int status = child_run ("zflow", "tcp://127.0.0.1:1", argv, S_RUN_MS, &self->out, &self->err);
    assert_int_equal (status, 0);
    assert_string_equal (self->out, "no runs yet\n");
}

//  Writes a flow file in a fresh folder; returns the folder (the caller removes it).
static char *
s_flow_file (const char *text, char *path, size_t size)
{
    char *folder = strdup ("/tmp/zf_cli_XXXXXX");
    assert_non_null (mkdtemp (folder));
    snprintf (path, size, "%s/flow.yaml", folder);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    return folder;
}

static void
test_submit (void **state)
{
    fixture_t *self = *state;
    static const char *text = "flow: cli_demo\ntasks:\n  - id: hello\n    run: echo hello\n";
    char path[PATH_MAX];
    char *folder = s_flow_file (text, path, sizeof path);
    s_ok_reply (self, ZF_BODY_SUBMIT, "submitted", true, 3);
    //  A roundabout path: what is sent is the real, absolute one.
    char roundabout[PATH_MAX + 16];
    snprintf (roundabout, sizeof roundabout, "%s/../%s/flow.yaml", folder,
              strrchr (folder, '/') + 1);
    assert_int_equal (s_zflow (self, "submit", roundabout, NULL), 0);
    assert_string_equal (self->out, "submitted cli_demo version 3\n");
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_SUBMIT, self->dec, &req));
    assert_string_equal (req.path, path);
    assert_int_equal (req.text_size, strlen (text));
    assert_memory_equal (req.text, text, strlen (text));
    //  An invalid flow: the registry's lines, as they are.
    fake_registry_clear (self->fake, ZF_BODY_SUBMIT);
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 0);
    reply.code = ZF_ERR_INVALID_FLOW;
    reply.text = "2 errors";
    const char *lines[] = {"flow.yaml:3:5: unknown key 'runn'", "flow.yaml:1:1: no tasks"};
    reply.lines = lines;
    reply.line_count = 2;
    fake_registry_reply (self->fake, ZF_BODY_SUBMIT, &reply);
    assert_int_equal (s_zflow (self, "submit", path, NULL), 1);
    assert_string_equal (self->err, "flow.yaml:3:5: unknown key 'runn'\nflow.yaml:1:1: no tasks\n");
    assert_string_equal (self->out, "");
    //  A file that is not there never reaches the registry.
    int before = fake_registry_requests (self->fake, ZF_BODY_SUBMIT);
    assert_int_equal (s_zflow (self, "submit", "/nonexistent/flow.yaml", NULL), 1);
    s_one_line_error (self, "cannot read /nonexistent/flow.yaml");
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_SUBMIT), before);
    unlink (path);
    rmdir (folder);
    free (folder);
}

static void
test_start (void **state)
{
    fixture_t *self = *state;
    zf_date_t date;
    zf_date_parse ("2026-11-24", &date);
    s_ok_reply (self, ZF_BODY_START, "opened", true, date);
    assert_int_equal (s_zflow (self, "start", "eod", "--date", "2026-11-24", NULL), 0);
    assert_string_equal (self->out, "started eod for 2026-11-24\n");
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_START, self->dec, &req));
    assert_string_equal (req.flow, "eod");
    assert_int_equal (req.date, date);
    //  No date: nil, today in the flow's zone, which the reply names.
    fake_registry_clear (self->fake, ZF_BODY_START);
    s_ok_reply (self, ZF_BODY_START, "already open", true, date);
    assert_int_equal (s_zflow (self, "start", "eod", NULL), 0);
    assert_string_equal (self->out, "started eod for 2026-11-24 (already open)\n");
    assert_true (fake_registry_last (self->fake, ZF_BODY_START, self->dec, &req));
    assert_int_equal (req.date, ZF_DATE_NONE);
    fake_registry_clear (self->fake, ZF_BODY_START);
    s_error_reply (self, ZF_BODY_START, ZF_ERR_CONFLICT, "eod 2026-11-24 is open already");
    assert_int_equal (s_zflow (self, "start", "eod", "--date", "2026-11-24", NULL), 1);
    s_one_line_error (self, "zflow start: eod 2026-11-24 is open already (conflict)");
}

static void
test_actions (void **state)
{
    fixture_t *self = *state;
    s_ok_reply (self, ZF_BODY_ACTION, "retried", false, 0);
    zf_reg_request_t req;
    //  A shard by key.
    assert_int_equal (s_zflow (self, "retry", "eod", "accrue", "--shard", "fx", NULL), 0);
    assert_string_equal (self->out, "retried eod accrue shard fx\n");
    assert_true (fake_registry_last (self->fake, ZF_BODY_ACTION, self->dec, &req));
    assert_int_equal (req.action, ZF_ACTION_RETRY);
    assert_string_equal (req.task, "accrue");
    assert_string_equal (req.shard_key, "fx");
    assert_int_equal (req.shard, ZF_SHARD_WHOLE);
    //  A shard by index, on a date.
    assert_int_equal (
        s_zflow (self, "skip", "eod", "settle", "--shard", "3", "--date", "2026-11-24", NULL), 0);
    assert_true (fake_registry_last (self->fake, ZF_BODY_ACTION, self->dec, &req));
    assert_int_equal (req.action, ZF_ACTION_SKIP);
    assert_int_equal (req.shard, 3);
    assert_null (req.shard_key);
    assert_int_not_equal (req.date, ZF_DATE_NONE);
    //  Cancel without a task: the whole run.
    assert_int_equal (s_zflow (self, "cancel", "eod", NULL), 0);
    assert_true (fake_registry_last (self->fake, ZF_BODY_ACTION, self->dec, &req));
    assert_int_equal (req.action, ZF_ACTION_CANCEL);
    assert_null (req.task);
    fake_registry_clear (self->fake, ZF_BODY_ACTION);
    s_ok_reply (self, ZF_BODY_ACTION, "paused", false, 0);
    assert_int_equal (s_zflow (self, "pause", "eod", NULL), 0);
    assert_string_equal (self->out, "paused eod\n");
    assert_true (fake_registry_last (self->fake, ZF_BODY_ACTION, self->dec, &req));
    assert_int_equal (req.action, ZF_ACTION_PAUSE);
    assert_int_equal (s_zflow (self, "resume", "eod", NULL), 0);
    assert_true (fake_registry_last (self->fake, ZF_BODY_ACTION, self->dec, &req));
    assert_int_equal (req.action, ZF_ACTION_RESUME);
    //  The registry says no: one line, exit 1.
    fake_registry_clear (self->fake, ZF_BODY_ACTION);
    s_error_reply (self, ZF_BODY_ACTION, ZF_ERR_UNKNOWN_TASK, "eod has no task nope");
    assert_int_equal (s_zflow (self, "retry", "eod", "nope", NULL), 1);
    s_one_line_error (self, "eod has no task nope (unknown_task)");
}

static void
test_logs (void **state)
{
    fixture_t *self = *state;
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_LOGS_REPLY, 0);
    reply.text = "line one\nline two\n";
    reply.text_size = strlen (reply.text);
    reply.truncated = true;
    fake_registry_reply (self->fake, ZF_BODY_LOGS, &reply);
    assert_int_equal (
        s_zflow (self, "logs", "eod", "accrue", "--shard", "2", "--attempt", "2", NULL), 0);
    assert_string_equal (self->out, "line one\nline two\n");
    assert_non_null (strstr (self->err, "longer"));
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_LOGS, self->dec, &req));
    assert_string_equal (req.flow, "eod");
    assert_string_equal (req.task, "accrue");
    assert_int_equal (req.shard, 2);
    assert_int_equal (req.attempt, 2);
}

static void
test_bad_usage (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (s_zflow (self, "status", "--bogus", NULL), 2);
    s_usage_error (self, "unknown option '--bogus'");
    assert_int_equal (s_zflow (self, "status", "eod", "--date", "2026-02-30", NULL), 2);
    s_usage_error (self, "bad date '2026-02-30'");
    assert_int_equal (s_zflow (self, "status", "a", "b", NULL), 2);
    s_usage_error (self, "unexpected argument 'b'");
    assert_int_equal (s_zflow (self, "retry", "eod", NULL), 2);
    s_usage_error (self, "missing TASK");
    assert_int_equal (s_zflow (self, "submit", NULL), 2);
    s_usage_error (self, "missing FILE");
    assert_int_equal (s_zflow (self, "cancel", "eod", "--shard", "1", NULL), 2);
    s_usage_error (self, "--shard needs a TASK");
    assert_int_equal (s_zflow (self, "logs", "eod", "t", "--attempt", "0", NULL), 2);
    s_usage_error (self, "bad attempt '0'");
    assert_int_equal (s_zflow (self, "wait", "eod", "--timeout", "soon", NULL), 2);
    s_usage_error (self, "bad --timeout 'soon'");
    assert_int_equal (s_zflow (self, "wait", "eod", "--timeout", NULL), 2);
    s_usage_error (self, "option '--timeout' needs a value");
    assert_int_equal (s_zflow (self, "pause", "eod", "--date", "2026-11-24", NULL), 2);
    assert_int_equal (s_zflow (self, "status", "--registry", "nowhere", NULL), 2);
    s_usage_error (self, "bad registry endpoint 'nowhere'");
    //  Nothing of this reached the registry.
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_STATUS), 0);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_ACTION), 0);
    //  -h is help, not an error.
    assert_int_equal (s_zflow (self, "wait", "-h", NULL), 0);
    assert_true (strncmp (self->out, "usage: zflow wait FLOW", 22) == 0);
}

//  up and demo check their options before starting anything.
static void
test_up_usage (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (s_zflow (self, "up", "-h", NULL), 0);
    assert_true (strncmp (self->out, "usage: zflow up [OPTIONS]\n", 26) == 0);
    assert_non_null (strstr (self->out, "--keep-runs N"));
    assert_int_equal (s_zflow (self, "demo", "--help", NULL), 0);
    assert_true (strncmp (self->out, "usage: zflow demo [--exit]", 26) == 0);
    assert_non_null (strstr (self->out, "--executors N"));
    assert_int_equal (s_zflow (self, "up", "--keep-runs", "-1", NULL), 2);
    s_usage_error (self, "--keep-runs takes 0 to 100000");
    assert_int_equal (s_zflow (self, "up", "--executors", "65", NULL), 2);
    s_usage_error (self, "--executors takes 0 to 64");
    assert_int_equal (s_zflow (self, "up", "--base-port", "80", NULL), 2);
    s_usage_error (self, "--base-port takes 1024 to");
    assert_int_equal (s_zflow (self, "up", "--store", "mysql://x", NULL), 2);
    s_usage_error (self, "--store takes sqlite:PATH");
    assert_int_equal (s_zflow (self, "demo", "--bogus", NULL), 2);
    s_usage_error (self, "unknown option '--bogus'");
    assert_int_equal (s_zflow (self, "up", "extra", NULL), 2);
    s_usage_error (self, "unexpected argument 'extra'");
    assert_int_equal (s_zflow (self, "up", "--dir", NULL), 2);
    s_usage_error (self, "option '--dir' needs a value");
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_status_table, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_status_json, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_status_all_flows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_status_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_status_unknown_flow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unreachable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_flag, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_submit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_actions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_logs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_usage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_up_usage, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
