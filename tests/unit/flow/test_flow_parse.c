/*  Tests of zf_flow_parse: every accepted form, every error, defaults, order, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "zf_flow.h"
#include "zf_limits.h"

typedef struct {
    zf_flow_errors_t errors; //  of the last parse
    zf_flow_t *flow;         //  of the last parse, or NULL
    char *text;              //  generated input, grown by s_add
    size_t size;             //  bytes of text in use
    size_t alloc;            //  bytes of text allocated
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    zf_flow_destroy (&self->flow);
    zf_flow_errors_clear (&self->errors);
    free (self->text);
    free (self);
    return 0;
}

//  Appends formatted text to the fixture's generated input.
static void __attribute__ ((format (printf, 2, 3))) s_add (fixture_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int length = vsnprintf (NULL, 0, format, args);
    va_end (args);
    assert_true (length >= 0);
    if (self->size + (size_t)length + 1 > self->alloc) {
        self->alloc = (self->size + (size_t)length + 1) * 2;
        self->text = realloc (self->text, self->alloc);
        assert_non_null (self->text);
    }
    va_start (args, format);
    vsnprintf (self->text + self->size, (size_t)length + 1, format, args);
    va_end (args);
    self->size += (size_t)length;
}

//  Drops the generated input.
static void
s_reset (fixture_t *self)
{
    self->size = 0;
    if (self->text) self->text[0] = 0;
}

static zf_flow_t *
s_parse (fixture_t *self, const char *text)
{
    zf_flow_destroy (&self->flow);
    zf_flow_errors_clear (&self->errors);
    self->flow = zf_flow_parse (text, strlen (text), "t.yaml", &self->errors);
    return self->flow;
}

//  Prints what the last parse reported, to explain a failed expectation.
static void
s_dump (fixture_t *self)
{
    for (uint32_t i = 0; i < self->errors.count; i++)
        print_message ("  reported: %s\n", self->errors.lines[i]);
}

//  Parses text that must be valid.
static zf_flow_t *
s_valid (fixture_t *self, const char *text)
{
    if (!s_parse (self, text)) s_dump (self);
    assert_non_null (self->flow);
    assert_int_equal (self->errors.count, 0);
    return self->flow;
}

//  Parses text that must fail with exactly the given errors, in order (NULL ends).
static void
s_fails (fixture_t *self, const char *text, ...)
{
    s_parse (self, text);
    va_list args;
    va_start (args, text);
    uint32_t i = 0;
    const char *expected;
    bool same = true;
    while ((expected = va_arg (args, const char *)) != NULL) {
        if (i >= self->errors.count || strcmp (self->errors.lines[i], expected) != 0) {
            print_message ("  expected: %s\n", expected);
            same = false;
        }
        i++;
    }
    va_end (args);
    if (!same || i != self->errors.count) s_dump (self);
    assert_true (same);
    assert_int_equal (self->errors.count, i);
    assert_int_equal (self->errors.dropped, 0);
    assert_null (self->flow);
}

static zf_date_t
s_date (const char *text)
{
    zf_date_t date;
    assert_int_equal (zf_date_parse (text, &date), 0);
    return date;
}

//  ---------------------------------------------------------------------------
//  Accepted flows

static void
test_minimal (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_valid (self, "flow: f\ntasks:\n  - id: a\n    run: echo hi\n");
    assert_string_equal (flow->name, "f");
    assert_string_equal (flow->timezone, "UTC");
    assert_int_equal (flow->weekdays, 0x7f);
    assert_int_equal (flow->holiday_count, 0);
    assert_string_equal (flow->path, "t.yaml");
    assert_string_equal (flow->dir, ".");
    assert_int_equal (flow->text_size, strlen (flow->text));
    assert_string_equal (flow->text, "flow: f\ntasks:\n  - id: a\n    run: echo hi\n");
    assert_int_equal (flow->task_count, 1);
    zf_flow_task_t *task = &flow->tasks[0];
    assert_string_equal (task->id, "a");
    assert_int_equal (task->type, ZF_TASK_RUN);
    assert_string_equal (task->run, "echo hi");
    assert_null (task->service);
    assert_null (task->rollback);
    assert_int_equal (task->after_count, 0);
    assert_int_equal (task->not_before, -1);
    assert_int_equal (task->shard_count, 1);
    assert_null (task->shard_keys);
    //  The built-in defaults: no timeout, no retries, 10s between retries.
    assert_int_equal (task->timeout_ms, 0);
    assert_int_equal (task->retries, 0);
    assert_int_equal (task->retry_delay_ms, 10000);
    assert_false (task->speculative);
    assert_int_equal (task->line, 3);
    assert_int_equal (task->col, 5);
    assert_non_null (flow->topo);
    assert_int_equal (flow->topo[0], 0);
}

//  The example flow of the design, every field checked.
static const char *s_design_flow = "flow: eod                       # [a-z0-9_-]+\n"
                                   "timezone: Asia/Shanghai\n"
                                   "calendar:\n"
                                   "  weekdays: [mon, tue, wed, thu, fri]\n"
                                   "  holidays: [2026-12-25, 2027-01-01]\n"
                                   "defaults: {timeout: 30m, retries: 0, retry_delay: 10s}\n"
                                   "tasks:\n"
                                   "  - id: start\n"
                                   "    type: start\n"
                                   "  - id: load_prices\n"
                                   "    after: [start]\n"
                                   "    not_before: \"16:30\"\n"
                                   "    run: ./jobs/load_prices.sh\n"
                                   "    timeout: 10m\n"
                                   "    retries: 2\n"
                                   "  - id: accrue\n"
                                   "    after: [load_prices]\n"
                                   "    shards: [bonds, fx, equities]\n"
                                   "    run: ./jobs/accrue.sh\n"
                                   "    rollback: ./jobs/accrue_undo.sh\n"
                                   "  - id: settle\n"
                                   "    after: [accrue]\n"
                                   "    shards: 8\n"
                                   "    service: settle\n"
                                   "    speculative: true\n"
                                   "  - id: report\n"
                                   "    after: [settle, report@-1]\n"
                                   "    run: ./jobs/report.sh\n"
                                   "  - id: next_day\n"
                                   "    type: day_roll\n"
                                   "    after: [report]\n";

static void
test_design_flow (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_valid (self, s_design_flow);
    assert_string_equal (flow->name, "eod");
    assert_string_equal (flow->timezone, "Asia/Shanghai");
    assert_int_equal (flow->weekdays, 0x1f);
    assert_int_equal (flow->holiday_count, 2);
    assert_int_equal (flow->holidays[0], s_date ("2026-12-25"));
    assert_int_equal (flow->holidays[1], s_date ("2027-01-01"));
    assert_int_equal (flow->default_timeout_ms, 30 * 60000);
    assert_int_equal (flow->default_retries, 0);
    assert_int_equal (flow->default_retry_delay_ms, 10000);
    assert_int_equal (flow->task_count, 6);

    zf_flow_task_t *t = flow->tasks;
    assert_int_equal (t[0].type, ZF_TASK_START);
    assert_null (t[0].run);
    assert_int_equal (t[0].timeout_ms, 30 * 60000);

    assert_string_equal (t[1].id, "load_prices");
    assert_int_equal (t[1].after_count, 1);
    assert_int_equal (t[1].after[0].task, 0);
    assert_int_equal (t[1].after[0].offset, 0);
    assert_int_equal (t[1].not_before, 16 * 60 + 30);
    assert_string_equal (t[1].run, "./jobs/load_prices.sh");
    assert_int_equal (t[1].timeout_ms, 10 * 60000);
    assert_int_equal (t[1].retries, 2);
    assert_int_equal (t[1].retry_delay_ms, 10000);

    assert_int_equal (t[2].shard_count, 3);
    assert_string_equal (t[2].shard_keys[0], "bonds");
    assert_string_equal (t[2].shard_keys[1], "fx");
    assert_string_equal (t[2].shard_keys[2], "equities");
    assert_string_equal (t[2].rollback, "./jobs/accrue_undo.sh");

    assert_int_equal (t[3].type, ZF_TASK_SERVICE);
    assert_string_equal (t[3].service, "settle");
    assert_null (t[3].run);
    assert_int_equal (t[3].shard_count, 8);
    assert_null (t[3].shard_keys);
    assert_true (t[3].speculative);

    assert_int_equal (t[4].after_count, 2);
    assert_int_equal (t[4].after[0].task, 3);
    assert_int_equal (t[4].after[0].offset, 0);
    assert_int_equal (t[4].after[1].task, 4);
    assert_int_equal (t[4].after[1].offset, 1);

    assert_int_equal (t[5].type, ZF_TASK_DAY_ROLL);
    assert_int_equal (t[5].line, 29);
    assert_int_equal (t[5].col, 5);
    //  A chain: exactly one order.
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal (flow->topo[i], i);
    assert_int_equal (zf_flow_task_index (flow, "settle"), 3);
    assert_int_equal (zf_flow_task_index (flow, "next_day"), 5);
}

static void
test_defaults (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_valid (self, "flow: f\n"
                                     "tasks:\n"
                                     "  - id: a\n"
                                     "    run: r\n"
                                     "  - id: b\n"
                                     "    run: r\n"
                                     "    timeout: 0s\n"
                                     "    retries: 0\n"
                                     "    retry_delay: 500ms\n"
                                     "defaults: {timeout: 30m, retries: 2, retry_delay: 1m}\n");
    //  defaults may come after tasks in the file: they still apply.
    assert_int_equal (flow->tasks[0].timeout_ms, 1800000);
    assert_int_equal (flow->tasks[0].retries, 2);
    assert_int_equal (flow->tasks[0].retry_delay_ms, 60000);
    assert_int_equal (flow->tasks[1].timeout_ms, 0);
    assert_int_equal (flow->tasks[1].retries, 0);
    assert_int_equal (flow->tasks[1].retry_delay_ms, 500);

    //  A partial defaults falls back to the built-in values for the rest.
    flow = s_valid (self, "flow: f\ndefaults: {retries: 3}\ntasks: [{id: a, run: r}]\n");
    assert_int_equal (flow->tasks[0].timeout_ms, 0);
    assert_int_equal (flow->tasks[0].retries, 3);
    assert_int_equal (flow->tasks[0].retry_delay_ms, 10000);
    flow = s_valid (self, "flow: f\ndefaults: {}\ntasks: [{id: a, run: r}]\n");
    assert_int_equal (flow->tasks[0].retry_delay_ms, 10000);

    //  Zero is the same with a unit or without: no timeout, no wait, in
    //  defaults and in a task alike.
    const char *zeros[] = {"0", "0s", "0ms", "0h"};
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) {
        s_reset (self);
        s_add (self,
               "flow: f\ndefaults: {timeout: %s, retry_delay: %s}\n"
               "tasks: [{id: a, run: r}, {id: b, run: r, timeout: %s, retry_delay: %s}]\n",
               zeros[i], zeros[i], zeros[i], zeros[i]);
        flow = s_valid (self, self->text);
        assert_int_equal (flow->default_timeout_ms, 0);
        assert_int_equal (flow->default_retry_delay_ms, 0);
        for (int t = 0; t < 2; t++) {
            assert_int_equal (flow->tasks[t].timeout_ms, 0);
            assert_int_equal (flow->tasks[t].retry_delay_ms, 0);
        }
    }
}

static void
test_accepted_forms (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow =
        s_valid (self, "---\n"
                       "# a comment\n"
                       "flow: \"f-1_x\"\n"
                       "timezone: 'Europe/London'\n"
                       "calendar: {weekdays: [sun, mon], holidays: ['2027-01-01', 2026-12-25]}\n"
                       "tasks:\n"
                       "  - {id: start, type: start, not_before: '08:00'}\n"
                       "  - id: b\n"
                       "    after: [start, b@-1, b@-366]\n"
                       "    not_before: 16:30\n"
                       "    run: |\n"
                       "      echo one\n"
                       "      echo two\n"
                       "    shards: 1\n"
                       "    speculative: True\n"
                       "    retries: 1000\n"
                       "  - id: c\n"
                       "    after: []\n"
                       "    service: svc_1\n"
                       "    shards: [\"a b\", 2, \"\xc3\xbc\"]\n"
                       "    speculative: FALSE\n"
                       "    timeout: 1d\n"
                       "    retry_delay: 2h\n"
                       "  - id: end\n"
                       "    type: day_roll\n"
                       "    not_before: \"23:59\"\n"
                       "    after:\n"
                       "      - c\n"
                       "      - b\n"
                       "...\n");
    assert_string_equal (flow->name, "f-1_x");
    assert_string_equal (flow->timezone, "Europe/London");
    assert_int_equal (flow->weekdays, 0x41);
    assert_int_equal (flow->holiday_count, 2);
    assert_int_equal (flow->holidays[0], s_date ("2026-12-25"));
    assert_int_equal (flow->holidays[1], s_date ("2027-01-01"));
    zf_flow_task_t *t = flow->tasks;
    assert_int_equal (t[0].not_before, 480);
    assert_int_equal (t[1].after_count, 3);
    assert_int_equal (t[1].after[1].task, 1);
    assert_int_equal (t[1].after[1].offset, 1);
    assert_int_equal (t[1].after[2].offset, 366);
    assert_int_equal (t[1].not_before, 990);
    assert_string_equal (t[1].run, "echo one\necho two\n");
    assert_int_equal (t[1].shard_count, 1);
    assert_null (t[1].shard_keys);
    assert_true (t[1].speculative);
    assert_int_equal (t[1].retries, 1000);
    assert_int_equal (t[2].after_count, 0);
    assert_int_equal (t[2].type, ZF_TASK_SERVICE);
    assert_string_equal (t[2].service, "svc_1");
    assert_int_equal (t[2].shard_count, 3);
    assert_string_equal (t[2].shard_keys[0], "a b");
    assert_string_equal (t[2].shard_keys[1], "2");
    assert_string_equal (t[2].shard_keys[2], "\xc3\xbc");
    assert_false (t[2].speculative);
    assert_int_equal (t[2].timeout_ms, 86400000);
    assert_int_equal (t[2].retry_delay_ms, 7200000);
    assert_int_equal (t[3].type, ZF_TASK_DAY_ROLL);
    assert_int_equal (t[3].not_before, 23 * 60 + 59);
    assert_int_equal (t[3].after_count, 2);

    //  Every unit of a duration, and the longest names.
    flow = s_valid (self, "flow: f\ntasks:\n"
                          "  - {id: a, run: r, timeout: 500ms, retry_delay: 30s}\n"
                          "  - {id: b, run: r, timeout: 10m, retry_delay: 0ms}\n");
    assert_int_equal (flow->tasks[0].timeout_ms, 500);
    assert_int_equal (flow->tasks[0].retry_delay_ms, 30000);
    assert_int_equal (flow->tasks[1].timeout_ms, 600000);
    assert_int_equal (flow->tasks[1].retry_delay_ms, 0);

    s_reset (self);
    s_add (self, "flow: %0*d\ntasks: [{id: %0*d, run: r, service: null}]\n", ZF_MAX_NAME, 0,
           ZF_MAX_NAME, 1);
    //  service: null is an explicit null and counts as written: both set.
    s_parse (self, self->text);
    assert_null (self->flow);
    s_reset (self);
    s_add (self, "flow: %0*d\ntasks: [{id: %0*d, service: %0*d}]\n", ZF_MAX_NAME, 0, ZF_MAX_NAME, 1,
           ZF_MAX_NAME, 2);
    flow = s_valid (self, self->text);
    assert_int_equal (strlen (flow->name), ZF_MAX_NAME);
    assert_int_equal (strlen (flow->tasks[0].id), ZF_MAX_NAME);

    //  A byte order mark and Windows line ends are read as any editor writes them.
    flow = s_valid (self, "\xef\xbb\xbf"
                          "flow: bom\r\ntasks:\r\n  - id: a\r\n    run: r\r\n");
    assert_string_equal (flow->name, "bom");
    assert_string_equal (flow->tasks[0].run, "r");
    assert_int_equal (flow->tasks[0].line, 3);

    //  A flow of built-ins only is valid; so is a flow without them.
    flow = s_valid (
        self, "flow: f\ntasks: [{id: s, type: start}, {id: r, type: day_roll, after: [s]}]\n");
    assert_int_equal (flow->tasks[0].type, ZF_TASK_START);
    assert_int_equal (flow->tasks[1].type, ZF_TASK_DAY_ROLL);
}

static void
test_path_and_dir (void **state)
{
    fixture_t *self = *state;
    const char *text = "flow: f\ntasks: [{id: a, run: r}]\n";
    struct {
        const char *path, *dir;
    } cases[] = {{"a/b/c.yaml", "a/b"},
                 {"c.yaml", "."},
                 {"/c.yaml", "/"},
                 {"./c.yaml", "."},
                 {"/srv/flows/eod.yaml", "/srv/flows"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zf_flow_t *flow = zf_flow_parse (text, strlen (text), cases[i].path, NULL);
        assert_non_null (flow);
        assert_string_equal (flow->path, cases[i].path);
        assert_string_equal (flow->dir, cases[i].dir);
        zf_flow_destroy (&flow);
        assert_null (flow);
        zf_flow_destroy (&flow);
    }
    zf_flow_t *flow = zf_flow_parse (text, strlen (text), NULL, NULL);
    assert_non_null (flow);
    assert_string_equal (flow->path, "<input>");
    assert_string_equal (flow->dir, ".");
    zf_flow_destroy (&flow);

    //  The text need not be nul-terminated: only size bytes are read.
    char buffer[64];
    memset (buffer, 'x', sizeof buffer);
    memcpy (buffer, text, strlen (text));
    flow = zf_flow_parse (buffer, strlen (text), NULL, &self->errors);
    assert_non_null (flow);
    assert_int_equal (flow->text_size, strlen (text));
    zf_flow_destroy (&flow);

    assert_null (zf_flow_parse ("flow: f\n", 8, NULL, &self->errors));
    assert_string_equal (self->errors.lines[0], "<input>:1:1: missing key 'tasks'");
}

static void
test_task_index (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_valid (self, s_design_flow);
    for (uint32_t i = 0; i < flow->task_count; i++)
        assert_int_equal (zf_flow_task_index (flow, flow->tasks[i].id), (int32_t)i);
    assert_int_equal (zf_flow_task_index (flow, "nope"), -1);
    assert_int_equal (zf_flow_task_index (flow, "settl"), -1);
    assert_int_equal (zf_flow_task_index (flow, "settlex"), -1);
    assert_int_equal (zf_flow_task_index (flow, ""), -1);
    assert_int_equal (zf_flow_task_index (flow, NULL), -1);
    assert_int_equal (zf_flow_task_index (NULL, "start"), -1);
}

//  ---------------------------------------------------------------------------
//  YAML and structure

static void
test_bad_yaml (void **state)
{
    fixture_t *self = *state;
    s_fails (self, "flow: f\ntasks: [a, b\n",
             "t.yaml:3:1: bad YAML: did not find expected ',' or ']' (while parsing a flow "
             "sequence at 2:8)",
             NULL);
    s_fails (self, "flow: f\ntasks:\n\t- a\n",
             "t.yaml:3:1: bad YAML: found character that cannot start any token (while "
             "scanning for the next token at 3:1)",
             NULL);
    s_fails (self, "flow: f\n  tasks: x\n",
             "t.yaml:2:8: bad YAML: mapping values are not allowed in this context", NULL);
    s_fails (self, "flow: f\ntasks: \"a\n",
             "t.yaml:3:1: bad YAML: found unexpected end of stream (while scanning a quoted "
             "scalar at 2:8)",
             NULL);
    //  Not UTF-8, and a control character: libyaml's reader says where.
    s_fails (self, "flow: f\ntasks: [\xff]\n",
             "t.yaml:2:9: bad YAML: invalid leading UTF-8 octet (#FF)", NULL);
    s_fails (self,
             "\xef\xbb\xbf"
             "flow: \x01\n",
             "t.yaml:1:7: bad YAML: control characters are not allowed (#1)", NULL);
    const char nul[] = "flow: f\0\ntasks: []\n";
    zf_flow_errors_clear (&self->errors);
    assert_null (zf_flow_parse (nul, sizeof nul - 1, "t.yaml", &self->errors));
    assert_int_equal (self->errors.count, 1);
    assert_string_equal (self->errors.lines[0],
                         "t.yaml:1:8: bad YAML: control characters are not allowed (#0)");
}

static void
test_empty_and_root (void **state)
{
    fixture_t *self = *state;
    s_fails (self, "", "t.yaml:1:1: empty flow file (want a mapping with flow and tasks)", NULL);
    s_fails (self, "# only a comment\n\n",
             "t.yaml:1:1: empty flow file (want a mapping with flow and tasks)", NULL);
    s_fails (self, "---\n", "t.yaml:2:1: empty flow file (want a mapping with flow and tasks)",
             NULL);
    s_fails (self, "- flow: f\n",
             "t.yaml:1:1: a flow file must be a mapping (flow, tasks, ...), got a list", NULL);
    s_fails (self, "hello\n",
             "t.yaml:1:1: a flow file must be a mapping (flow, tasks, ...), got 'hello'", NULL);
    s_fails (self, "flow: f\ntasks: [{id: a, run: r}]\n---\nflow: g\n",
             "t.yaml:3:1: more than one YAML document (a flow file holds one)", NULL);
}

static void
test_alias_tag_depth (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - &t {id: a, run: r}\n"
             "  - *t\n"
             "  - id: b\n"
             "    run: !!str r\n",
             "t.yaml:4:5: aliases are not used in flow files: write the value out",
             "t.yaml:6:10: tags are not used in flow files: remove '!!str'", NULL);
    s_fails (self, "flow: f\ntasks: !list [{id: a, run: r}]\n",
             "t.yaml:2:8: tags are not used in flow files: remove '!list'", NULL);

    //  Sixteen levels are allowed (the root mapping is the first), seventeen not.
    s_reset (self);
    s_add (self, "x: %.*s%.*s\n", 15, "[[[[[[[[[[[[[[[[[[[[", 15, "]]]]]]]]]]]]]]]]]]]]");
    s_parse (self, self->text);
    assert_int_equal (self->errors.count, 3);
    assert_string_equal (self->errors.lines[0],
                         "t.yaml:1:1: unknown key 'x' (known keys: flow, timezone, calendar, "
                         "defaults, tasks)");
    s_reset (self);
    s_add (self, "x: %.*s%.*s\n", 16, "[[[[[[[[[[[[[[[[[[[[", 16, "]]]]]]]]]]]]]]]]]]]]");
    s_fails (self, self->text, "t.yaml:1:19: nesting deeper than ZF_FLOW_MAX_DEPTH (16 levels)",
             NULL);
}

static void
test_unknown_keys (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tsks: []\n"
             "calendar: {weekday: [mon], extra: 1}\n"
             "defaults: {retry: 1}\n"
             "tasks:\n"
             "  - id: a\n"
             "    run: r\n"
             "    rn: x\n"
             "    xyzzy: 1\n",
             "t.yaml:2:1: unknown key 'tsks' (did you mean 'tasks'?)",
             "t.yaml:3:12: unknown key 'weekday' in calendar (did you mean 'weekdays'?)",
             "t.yaml:3:28: unknown key 'extra' in calendar (known keys: weekdays, holidays)",
             "t.yaml:4:12: unknown key 'retry' in defaults (did you mean 'retries'?)",
             "t.yaml:8:5: unknown key 'rn' in task 'a' (did you mean 'run'?)",
             "t.yaml:9:5: unknown key 'xyzzy' in task 'a' (known keys: id, type, after, "
             "not_before, run, service, shards, timeout, retries, retry_delay, rollback, "
             "speculative)",
             NULL);
    //  A task without a usable id is named by its place in the list.
    s_fails (self, "flow: f\ntasks:\n  - {id: a, run: r}\n  - {id: B, run: r, when: now}\n",
             "t.yaml:4:21: unknown key 'when' in task #2 (known keys: id, type, after, "
             "not_before, run, service, shards, timeout, retries, retry_delay, rollback, "
             "speculative)",
             "t.yaml:4:10: bad task id 'B' (use a-z, 0-9, '_' and '-', at most ZF_MAX_NAME (128) "
             "characters)",
             NULL);
}

static void
test_duplicate_and_odd_keys (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "flow: g\n"
             "? [k]\n"
             ": v\n"
             "~: 1\n"
             "tasks:\n"
             "  - id: a\n"
             "    run: r\n"
             "    run: s\n",
             "t.yaml:2:1: duplicate key 'flow' (first at 1:1)",
             "t.yaml:3:3: keys must be names, got a list",
             "t.yaml:5:1: keys must be names, got nothing",
             "t.yaml:9:5: duplicate key 'run' in task 'a' (first at 8:5)", NULL);
    //  A key is matched whole: a NUL inside it makes it unknown.
    s_fails (self, "flow: f\n\"run\\0x\": 1\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:1: unknown key 'run\\x00x' (known keys: flow, timezone, calendar, "
             "defaults, tasks)",
             NULL);
}

static void
test_missing_keys (void **state)
{
    fixture_t *self = *state;
    s_fails (self, "timezone: UTC\n", "t.yaml:1:1: missing key 'flow' (the flow's name)",
             "t.yaml:1:1: missing key 'tasks'", NULL);
    s_fails (self, "flow: f\ntasks:\n  - run: r\n  - {id: b, run: r}\n",
             "t.yaml:3:5: task #1 has no id", NULL);
    s_fails (self, "flow: f\ntasks: []\n",
             "t.yaml:2:8: tasks must not be empty (a flow has at least one task)", NULL);
    s_fails (self, "flow: f\ntasks:\n", "t.yaml:2:7: tasks must be a list of tasks, got nothing",
             NULL);
    s_fails (self, "flow:\ntasks: [{id: a, run: r}]\n",
             "t.yaml:1:6: flow name must be text, got nothing", NULL);
}

static void
test_names (void **state)
{
    fixture_t *self = *state;
    s_fails (self, "flow: Eod\ntasks: [{id: a, service: a.b}, {id: 'x y', run: r}]\n",
             "t.yaml:1:7: bad flow name 'Eod' (use a-z, 0-9, '_' and '-', at most ZF_MAX_NAME "
             "(128) characters)",
             "t.yaml:2:26: bad service name 'a.b' in task 'a' (use a-z, 0-9, '_' and '-', at "
             "most ZF_MAX_NAME (128) characters)",
             "t.yaml:2:37: bad task id 'x y' (use a-z, 0-9, '_' and '-', at most ZF_MAX_NAME "
             "(128) characters)",
             NULL);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: %0*d, run: r}]\n", ZF_MAX_NAME + 1, 7);
    s_fails (self, self->text,
             "t.yaml:2:14: bad task id '0000000000000000000000000000000000000000...' (use a-z, "
             "0-9, '_' and '-', at most ZF_MAX_NAME (128) characters)",
             NULL);
    s_fails (self, "flow: [f]\ntasks: [{id: {a: 1}, run: r}]\n",
             "t.yaml:1:7: flow name must be text, got a list",
             "t.yaml:2:14: task id must be text, got a mapping", NULL);
}

static void
test_wrong_kinds (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "calendar: [mon]\n"
             "defaults: 5\n"
             "tasks:\n"
             "  - id: a\n"
             "    after: start\n"
             "    run: [x]\n"
             "    shards: {a: 1}\n"
             "  - just a string\n"
             "  - [a, list]\n",
             "t.yaml:2:11: calendar must be a mapping (weekdays, holidays), got a list",
             "t.yaml:3:11: defaults must be a mapping (timeout, retries, retry_delay), got '5'",
             "t.yaml:6:12: after in task 'a' must be a list of task ids, got 'start'",
             "t.yaml:7:10: run in task 'a' must be text, got a list",
             "t.yaml:8:13: shards in task 'a' must be a count or a list of keys, got a mapping",
             "t.yaml:9:5: each task must be a mapping (id, after, run, ...), got 'just a string'",
             "t.yaml:10:5: each task must be a mapping (id, after, run, ...), got a list", NULL);
    s_fails (self, "flow: f\ntasks: {a: 1}\n",
             "t.yaml:2:8: tasks must be a list of tasks, got a mapping", NULL);
    s_fails (self,
             "flow: f\ncalendar: {weekdays: mon, holidays: {a: 1}}\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:22: weekdays in calendar must be a list of weekdays, got 'mon'",
             "t.yaml:2:37: holidays in calendar must be a list of dates, got a mapping", NULL);
}

static void
test_wrong_types (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - id: a\n"
             "    run: r\n"
             "    retries: \"2\"\n"
             "    speculative: \"true\"\n"
             "    shards: 0\n"
             "  - id: b\n"
             "    run: ''\n"
             "    retries: 1001\n"
             "    speculative: yes\n"
             "    shards: 1000001\n"
             "    rollback: [a]\n"
             "  - id: c\n"
             "    run: r\n"
             "    retries: -1\n"
             "    shards: \"4\"\n"
             "    timeout: {}\n",
             //  Within a task, keys are checked in the order the format lists them.
             "t.yaml:7:13: shards in task 'a' must be a count from 1 to ZF_MAX_SHARDS (1000000) "
             "or a list of keys, got '0'",
             "t.yaml:5:14: retries in task 'a' must be a whole number from 0 to ZF_MAX_RETRIES "
             "(1000), got '2'",
             "t.yaml:6:18: speculative in task 'a' must be true or false, got 'true'",
             "t.yaml:9:10: run in task 'b' must not be empty",
             "t.yaml:13:15: rollback in task 'b' must be text, got a list",
             "t.yaml:12:13: shards in task 'b' must be a count from 1 to ZF_MAX_SHARDS (1000000) "
             "or a list of keys, got '1000001'",
             "t.yaml:10:14: retries in task 'b' must be a whole number from 0 to ZF_MAX_RETRIES "
             "(1000), got '1001'",
             "t.yaml:11:18: speculative in task 'b' must be true or false, got 'yes'",
             "t.yaml:17:13: shards in task 'c' must be a count from 1 to ZF_MAX_SHARDS (1000000) "
             "or a list of keys, got '4'",
             "t.yaml:18:14: timeout in task 'c' must be a duration such as 500ms, 30s, 10m or 2h, "
             "got a mapping",
             "t.yaml:16:14: retries in task 'c' must be a whole number from 0 to ZF_MAX_RETRIES "
             "(1000), got '-1'",
             NULL);
}

static void
test_durations_times_dates (void **state)
{
    fixture_t *self = *state;
    const char *bad_durations[] = {"10",   "00",   "5 m", "-5s",
                                   "1.5h", "5sec", "''",  "99999999999999999999s"};
    for (size_t i = 0; i < sizeof bad_durations / sizeof bad_durations[0]; i++) {
        s_reset (self);
        s_add (self, "flow: f\ntasks: [{id: a, run: r, timeout: %s}]\n", bad_durations[i]);
        s_parse (self, self->text);
        assert_null (self->flow);
        assert_int_equal (self->errors.count, 1);
        assert_non_null (strstr (self->errors.lines[0], "t.yaml:2:34: bad duration '"));
        assert_non_null (strstr (self->errors.lines[0],
                                 "' for timeout in task 'a' (want 0, or a whole number and a "
                                 "unit: 500ms, 30s, 10m, 2h or 1d)"));
    }
    s_fails (self, "flow: f\ndefaults: {retry_delay: 10}\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:25: bad duration '10' for retry_delay in defaults (want 0, or a whole "
             "number and a unit: 500ms, 30s, 10m, 2h or 1d)",
             NULL);
    s_fails (self, "flow: f\ntasks: [{id: a, run: r, retry_delay: [1s]}]\n",
             "t.yaml:2:38: retry_delay in task 'a' must be a duration such as 500ms, 30s, 10m or "
             "2h, got a list",
             NULL);

    const char *bad_times[] = {"24:00", "9:30", "12:60", "ab:cd", "'12:00:00'", "1230"};
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
        s_reset (self);
        s_add (self, "flow: f\ntasks: [{id: a, run: r, not_before: %s}]\n", bad_times[i]);
        s_parse (self, self->text);
        assert_null (self->flow);
        assert_int_equal (self->errors.count, 1);
        assert_non_null (strstr (self->errors.lines[0], "t.yaml:2:37: bad time of day '"));
        assert_non_null (strstr (self->errors.lines[0],
                                 "' for not_before in task 'a' (want HH:MM, 00:00 to 23:59)"));
    }

    s_fails (
        self,
        "flow: f\n"
        "calendar:\n"
        "  holidays: [2026-13-01, 1969-12-31, 2026-2-1, 2026-12-25, '2026-12-25', 2026-12-25]\n"
        "tasks: [{id: a, run: r}]\n",
        "t.yaml:3:14: bad date '2026-13-01' in calendar holidays (want YYYY-MM-DD, a real "
        "date from 1970-01-01 to 9999-12-31)",
        "t.yaml:3:26: bad date '1969-12-31' in calendar holidays (want YYYY-MM-DD, a real "
        "date from 1970-01-01 to 9999-12-31)",
        "t.yaml:3:38: bad date '2026-2-1' in calendar holidays (want YYYY-MM-DD, a real "
        "date from 1970-01-01 to 9999-12-31)",
        "t.yaml:3:60: duplicate holiday '2026-12-25' in calendar (first at 3:48)",
        "t.yaml:3:74: duplicate holiday '2026-12-25' in calendar (first at 3:48)", NULL);
}

static void
test_weekdays_and_zone (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "timezone: Mars/Olympus\n"
             "calendar: {weekdays: [mon, tue, Wed, monday, tue, [sun]]}\n"
             "tasks: [{id: a, run: r}]\n",
             "t.yaml:2:11: unknown time zone 'Mars/Olympus' (want an IANA name such as "
             "Europe/London)",
             "t.yaml:3:33: bad weekday 'Wed' in calendar (want mon, tue, wed, thu, fri, sat or "
             "sun)",
             "t.yaml:3:38: bad weekday 'monday' in calendar (want mon, tue, wed, thu, fri, sat "
             "or sun)",
             "t.yaml:3:46: duplicate weekday 'tue' in calendar (first at 3:28)",
             "t.yaml:3:51: a weekday in calendar must be text, got a list", NULL);
    s_fails (self, "flow: f\ncalendar: {weekdays: []}\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:22: weekdays in calendar must not be empty (list the business weekdays)",
             NULL);
    s_fails (self, "flow: f\ntimezone: ../../etc/passwd\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:11: unknown time zone '../../etc/passwd' (want an IANA name such as "
             "Europe/London)",
             NULL);
    s_fails (self, "flow: f\ntimezone: ''\ntasks: [{id: a, run: r}]\n",
             "t.yaml:2:11: timezone must not be empty", NULL);
}

static void
test_run_and_service (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - id: both\n"
             "    run: r\n"
             "    service: s\n"
             "  - id: neither\n"
             "    shards: 2\n"
             "  - id: s\n"
             "    type: start\n"
             "    run: r\n"
             "    shards: 2\n"
             "  - id: d\n"
             "    type: day_roll\n"
             "    service: s\n"
             "    rollback: undo\n"
             "  - id: e\n"
             "    type: shell\n"
             "    run: r\n",
             "t.yaml:3:5: task 'both' has both run and service (keep one)",
             "t.yaml:6:5: task 'neither' needs run (a shell command) or service (a worker's "
             "handler)",
             "t.yaml:10:5: task 's' is a built-in start task and runs nothing: remove run",
             "t.yaml:11:5: task 's' is a built-in start task and runs nothing: remove shards",
             "t.yaml:14:5: task 'd' is a built-in day_roll task and runs nothing: remove service",
             "t.yaml:15:5: task 'd' is a built-in day_roll task and runs nothing: remove "
             "rollback",
             "t.yaml:17:11: bad type 'shell' in task 'e' (want start or day_roll)", NULL);
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - {id: s1, type: start}\n"
             "  - {id: s2, type: start}\n"
             "  - {id: r1, type: day_roll}\n"
             "  - {id: r2, type: day_roll}\n"
             "  - {id: s3, type: start}\n",
             "t.yaml:4:20: more than one start task (the first is at 3:5)",
             "t.yaml:6:20: more than one day_roll task (the first is at 5:5)",
             "t.yaml:7:20: more than one start task (the first is at 3:5)", NULL);
    //  A command may hold anything but a NUL, up to ZF_MAX_COMMAND bytes.
    s_fails (self, "flow: f\ntasks: [{id: a, run: \"a\\0b\"}]\n",
             "t.yaml:2:22: run in task 'a' contains a NUL character", NULL);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: '%0*d'}]\n", ZF_MAX_COMMAND, 0);
    assert_int_equal (strlen (s_valid (self, self->text)->tasks[0].run), ZF_MAX_COMMAND);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: '%0*d'}]\n", ZF_MAX_COMMAND + 1, 0);
    s_fails (self, self->text,
             "t.yaml:2:22: run in task 'a' is longer than ZF_MAX_COMMAND (65536 bytes)", NULL);
}

static void
test_shards (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - {id: a, run: r, shards: []}\n"
             "  - {id: b, run: r, shards: [x, y, x, '', ~, x]}\n",
             "t.yaml:3:29: shards in task 'a' must not be an empty list",
             "t.yaml:4:36: duplicate shard key 'x' in task 'b' (first at 4:30)",
             "t.yaml:4:39: a shard key in task 'b' must not be empty",
             "t.yaml:4:43: a shard key in task 'b' must not be empty",
             "t.yaml:4:46: duplicate shard key 'x' in task 'b' (first at 4:30)", NULL);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: r, shards: [k, '%0*d']}]\n", ZF_MAX_SHARD_KEY, 0);
    assert_int_equal (s_valid (self, self->text)->tasks[0].shard_count, 2);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: r, shards: [k, '%0*d']}]\n", ZF_MAX_SHARD_KEY + 1,
           0);
    s_fails (self, self->text,
             "t.yaml:2:37: a shard key in task 'a' is longer than ZF_MAX_SHARD_KEY (256 bytes)",
             NULL);
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: r, shards: %d}]\n", ZF_MAX_SHARDS);
    assert_int_equal (s_valid (self, self->text)->tasks[0].shard_count, ZF_MAX_SHARDS);
}

static void
test_dependencies (void **state)
{
    fixture_t *self = *state;
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - id: a\n"
             "    run: r\n"
             "    after: [x@1, x@-0, a@-367, X, x@-, x@-1a, '@-1', x@--1, a@+1, '', [a]]\n"
             "  - id: b\n"
             "    run: r\n"
             "    after: [a, zz, a@-1, a, a@-1, zz@-2, a@-2]\n"
             "  - id: a\n"
             "    run: r\n",
             "t.yaml:5:13: bad dependency 'x@1' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:18: bad dependency 'x@-0' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:24: bad dependency 'a@-367' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:32: bad dependency 'X' in task 'a' (want an id, or id@-N for N business "
             "dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:35: bad dependency 'x@-' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:40: bad dependency 'x@-1a' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:47: bad dependency '@-1' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:54: bad dependency 'x@--1' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:61: bad dependency 'a@+1' in task 'a' (want an id, or id@-N for N "
             "business dates back, N from 1 to ZF_MAX_DATE_OFFSET (366))",
             "t.yaml:5:67: a dependency in task 'a' must not be empty",
             "t.yaml:5:71: a dependency in task 'a' must be text, got a list",
             "t.yaml:9:9: duplicate task id 'a' (first at 3:5)",
             "t.yaml:8:16: unknown dependency 'zz' in task 'b'",
             "t.yaml:8:35: unknown dependency 'zz@-2' in task 'b'",
             "t.yaml:8:26: duplicate dependency 'a' in task 'b' (first at 8:13)",
             "t.yaml:8:29: duplicate dependency 'a@-1' in task 'b' (first at 8:20)", NULL);
}

static void
test_cycles (void **state)
{
    fixture_t *self = *state;
    s_fails (self, "flow: f\ntasks: [{id: a, run: r, after: [a]}]\n", "t.yaml:2:33: cycle: a -> a",
             NULL);
    //  Shown in run order from the task written first, at its after entry
    //  that closes the cycle.
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - {id: z, run: r}\n"
             "  - {id: a, run: r, after: [z, c]}\n"
             "  - {id: b, run: r, after: [a]}\n"
             "  - {id: c, run: r, after: [b]}\n"
             "  - {id: d, run: r, after: [c]}\n",
             "t.yaml:4:32: cycle: a -> b -> c -> a", NULL);
    //  Dependencies on earlier dates are no part of a cycle.
    s_valid (self, "flow: f\n"
                   "tasks:\n"
                   "  - {id: a, run: r, after: [a@-1, b@-1]}\n"
                   "  - {id: b, run: r, after: [a]}\n");
    //  Two separate cycles, both reported.
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - {id: a, run: r, after: [b]}\n"
             "  - {id: b, run: r, after: [a]}\n"
             "  - {id: c, run: r, after: [d]}\n"
             "  - {id: d, run: r, after: [c]}\n",
             "t.yaml:3:29: cycle: a -> b -> a", "t.yaml:5:29: cycle: c -> d -> c", NULL);
    //  Two cycles through one task.
    s_fails (self,
             "flow: f\n"
             "tasks:\n"
             "  - {id: a, run: r, after: [b]}\n"
             "  - {id: b, run: r, after: [a, c]}\n"
             "  - {id: c, run: r, after: [b]}\n",
             "t.yaml:3:29: cycle: a -> b -> a", "t.yaml:4:32: cycle: b -> c -> b", NULL);
    //  A long cycle shows its ends and counts the middle.
    s_reset (self);
    s_add (self, "flow: f\ntasks:\n  - {id: t0, run: r, after: [t29]}\n");
    for (int i = 1; i < 30; i++)
        s_add (self, "  - {id: t%d, run: r, after: [t%d]}\n", i, i - 1);
    s_fails (self, self->text,
             "t.yaml:3:30: cycle: t0 -> t1 -> t2 -> t3 -> t4 -> t5 -> t6 -> t7 -> t8 -> t9 -> "
             "(19 more) -> t29 -> t0",
             NULL);
}

//  A small deterministic generator, so the test draws the same flow every run.
static uint32_t
s_random (uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*seed >> 33);
}

static void
test_topo_order (void **state)
{
    fixture_t *self = *state;
    enum { COUNT = 2000 };
    uint64_t seed = 42;
    //  Task k gets id t<rank[k]>, and same-date dependencies only on tasks of
    //  lower rank: a DAG whose file order is not a topological order.
    uint32_t rank[COUNT];
    for (uint32_t k = 0; k < COUNT; k++)
        rank[k] = k;
    for (uint32_t k = COUNT - 1; k > 0; k--) {
        uint32_t j = s_random (&seed) % (k + 1);
        uint32_t swap = rank[k];
        rank[k] = rank[j];
        rank[j] = swap;
    }
    s_reset (self);
    s_add (self, "flow: f\ntasks:\n");
    uint32_t edges = 0;
    for (uint32_t k = 0; k < COUNT; k++) {
        uint32_t r = rank[k];
        //  Its own previous date, and a later task's: never same-date edges.
        s_add (self, "  - id: t%u\n    run: r\n    after: [t%u@-1, t%u@-2", r, r,
               (r + 1 + s_random (&seed) % 50) % COUNT);
        //  Up to three distinct same-date dependencies among the 50 ranks below.
        uint32_t chosen[3];
        uint32_t deps = r ? s_random (&seed) % 4 : 0;
        for (uint32_t d = 0; d < deps; d++) {
            chosen[d] = r - 1 - s_random (&seed) % (r < 50 ? r : 50);
            bool repeat = false;
            for (uint32_t e = 0; e < d; e++)
                repeat |= chosen[e] == chosen[d];
            if (repeat) {
                deps = d;
                break;
            }
            s_add (self, ", t%u", chosen[d]);
            edges++;
        }
        s_add (self, "]\n");
    }
    zf_flow_t *flow = s_valid (self, self->text);
    assert_true (edges > COUNT / 2);
    //  topo is a permutation in which every same-date dependency comes first.
    uint32_t position[COUNT];
    memset (position, 0xff, sizeof position);
    for (uint32_t i = 0; i < COUNT; i++) {
        assert_true (flow->topo[i] < COUNT);
        assert_int_equal (position[flow->topo[i]], UINT32_MAX);
        position[flow->topo[i]] = i;
    }
    uint32_t checked = 0;
    for (uint32_t t = 0; t < COUNT; t++)
        for (uint32_t j = 0; j < flow->tasks[t].after_count; j++)
            if (flow->tasks[t].after[j].offset == 0) {
                assert_true (position[flow->tasks[t].after[j].task] < position[t]);
                checked++;
            }
    assert_int_equal (checked, edges);
}

//  ---------------------------------------------------------------------------
//  Limits

static void
test_limit_size (void **state)
{
    fixture_t *self = *state;
    const char *head = "flow: f\ntasks: [{id: a, run: r}]\n#";
    size_t size = ZF_MAX_FLOW_SIZE;
    char *text = malloc (size + 2);
    assert_non_null (text);
    memset (text, 'x', size + 1);
    memcpy (text, head, strlen (head));
    text[size - 1] = '\n';
    zf_flow_t *flow = zf_flow_parse (text, size, "t.yaml", &self->errors);
    assert_non_null (flow);
    assert_int_equal (flow->text_size, ZF_MAX_FLOW_SIZE);
    zf_flow_destroy (&flow);
    flow = zf_flow_parse (text, size + 1, "t.yaml", &self->errors);
    assert_null (flow);
    assert_int_equal (self->errors.count, 1);
    assert_string_equal (self->errors.lines[0],
                         "t.yaml:1:1: flow file exceeds ZF_MAX_FLOW_SIZE (8388608 bytes)");
    free (text);
}

static void
test_limit_tasks (void **state)
{
    fixture_t *self = *state;
    s_reset (self);
    s_add (self, "flow: f\ntasks:\n");
    for (int i = 0; i <= ZF_MAX_TASKS; i++)
        s_add (self, "  - {id: t%d, run: r}\n", i);
    s_fails (self, self->text, "t.yaml:100003:5: more than ZF_MAX_TASKS (100000) tasks", NULL);
}

static void
test_limit_deps_and_holidays (void **state)
{
    fixture_t *self = *state;
    for (int extra = 0; extra <= 1; extra++) {
        s_reset (self);
        s_add (self, "flow: f\ntasks:\n");
        for (int i = 0; i < ZF_MAX_DEPS + extra; i++)
            s_add (self, "  - {id: t%d, run: r}\n", i);
        s_add (self, "  - id: u\n    run: r\n    after:\n");
        for (int i = 0; i < ZF_MAX_DEPS + extra; i++)
            s_add (self, "      - t%d\n", i);
        if (!extra)
            assert_int_equal (s_valid (self, self->text)->tasks[ZF_MAX_DEPS].after_count,
                              ZF_MAX_DEPS);
        else
            s_fails (self, self->text,
                     "t.yaml:2055:9: more than ZF_MAX_DEPS (1024) dependencies in task 'u'", NULL);
    }
    for (int extra = 0; extra <= 1; extra++) {
        s_reset (self);
        s_add (self, "flow: f\ntasks: [{id: a, run: r}]\ncalendar:\n  holidays:\n");
        char date[ZF_DATE_TEXT];
        //  Listed from the last date back: stored sorted all the same.
        for (int i = ZF_MAX_HOLIDAYS + extra - 1; i >= 0; i--)
            s_add (self, "    - %s\n",
                   zf_date_format (s_date ("2000-01-01") + i, date, sizeof date));
        if (!extra) {
            zf_flow_t *flow = s_valid (self, self->text);
            assert_int_equal (flow->holiday_count, ZF_MAX_HOLIDAYS);
            for (uint32_t i = 1; i < flow->holiday_count; i++)
                assert_int_equal (flow->holidays[i], flow->holidays[i - 1] + 1);
        } else
            s_fails (self, self->text,
                     "t.yaml:10005:7: more than ZF_MAX_HOLIDAYS (10000) holidays in calendar",
                     NULL);
    }
}

static void
test_limit_shard_keys (void **state)
{
    fixture_t *self = *state;
    s_reset (self);
    s_add (self, "flow: f\ntasks: [{id: a, run: r, shards: [");
    size_t column = 0;
    for (int i = 0; i <= ZF_MAX_SHARDS; i++) {
        if (i == ZF_MAX_SHARDS) column = self->size - strlen ("flow: f\n") + (i ? 2 : 0) + 1;
        s_add (self, "%s%d", i ? ", " : "", i);
    }
    s_add (self, "]}]\n");
    char expected[128];
    snprintf (expected, sizeof expected,
              "t.yaml:2:%zu: more than ZF_MAX_SHARDS (1000000) shard keys in task 'a'", column);
    s_fails (self, self->text, expected, NULL);
}

static void
test_limit_errors (void **state)
{
    fixture_t *self = *state;
    s_reset (self);
    s_add (self, "flow: f\ntasks:\n");
    for (int i = 0; i < 150; i++)
        s_add (self, "  - {id: t%d, run: r, retries: many}\n", i);
    s_parse (self, self->text);
    assert_null (self->flow);
    assert_int_equal (self->errors.count, ZF_MAX_FLOW_ERRORS);
    assert_int_equal (self->errors.dropped, 150 - ZF_MAX_FLOW_ERRORS);
    assert_string_equal (self->errors.lines[99],
                         "t.yaml:102:32: retries in task 't99' must be a whole number from 0 to "
                         "ZF_MAX_RETRIES (1000), got 'many'");
    //  Without a list the parse fails all the same.
    assert_null (zf_flow_parse (self->text, self->size, "t.yaml", NULL));
    //  Clearing makes the list usable again.
    zf_flow_errors_clear (&self->errors);
    assert_int_equal (self->errors.count, 0);
    assert_int_equal (self->errors.dropped, 0);
    assert_null (self->errors.lines);
    zf_flow_errors_clear (&self->errors);
    zf_flow_errors_clear (NULL);
}

//  100,000 tasks, each with up to three dependencies: parsed in well under a
//  second in a release build. The bound here only catches a quadratic slip.
static void
test_many_tasks (void **state)
{
    fixture_t *self = *state;
    uint64_t seed = 7;
    s_reset (self);
    s_add (self, "flow: big\ntasks:\n  - {id: start, type: start}\n");
    for (uint32_t i = 1; i < ZF_MAX_TASKS; i++) {
        s_add (self, "  - {id: t%u, run: ./job.sh, after: [", i);
        uint32_t a = i - 1 - s_random (&seed) % (i < 1000 ? i : 1000);
        uint32_t b = i - 1 - s_random (&seed) % (i < 1000 ? i : 1000);
        s_add (self, a ? "t%u" : "start", a);
        if (b != a) s_add (self, b ? ", t%u" : ", start", b);
        s_add (self, ", t%u@-1]}\n", i);
    }
    struct timespec begin, end;
    clock_gettime (CLOCK_MONOTONIC, &begin);
    zf_flow_t *flow = s_valid (self, self->text);
    clock_gettime (CLOCK_MONOTONIC, &end);
    double ms =
        (double)(end.tv_sec - begin.tv_sec) * 1e3 + (double)(end.tv_nsec - begin.tv_nsec) / 1e6;
    print_message ("parsed %u tasks (%zu bytes) in %.0f ms\n", flow->task_count, self->size, ms);
    assert_int_equal (flow->task_count, ZF_MAX_TASKS);
    assert_int_equal (zf_flow_task_index (flow, "t99999"), 99999);
    assert_int_equal (zf_flow_task_index (flow, "t100000"), -1);
    assert_int_equal (flow->topo[0], 0);
    assert_true (ms < 30000);
}

//  ---------------------------------------------------------------------------
//  Loading files

static void
test_load (void **state)
{
    fixture_t *self = *state;
    char dir[] = "/tmp/zf_flow_test_XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[sizeof dir + 32];

    snprintf (path, sizeof path, "%s/eod.yaml", dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (s_design_flow, file);
    fclose (file);
    self->flow = zf_flow_load (path, &self->errors);
    assert_non_null (self->flow);
    assert_string_equal (self->flow->path, path);
    assert_string_equal (self->flow->dir, dir);
    assert_string_equal (self->flow->text, s_design_flow);
    zf_flow_destroy (&self->flow);
    unlink (path);

    //  Larger than the limit: refused without reading it all.
    snprintf (path, sizeof path, "%s/big.yaml", dir);
    file = fopen (path, "w");
    assert_non_null (file);
    for (int i = 0; i < ZF_MAX_FLOW_SIZE / 1024 + 1; i++)
        fprintf (file, "#%01022d\n", 0);
    fclose (file);
    assert_null (zf_flow_load (path, &self->errors));
    char expected[128];
    snprintf (expected, sizeof expected,
              "%s:1:1: flow file exceeds ZF_MAX_FLOW_SIZE (8388608 bytes)", path);
    assert_int_equal (self->errors.count, 1);
    assert_string_equal (self->errors.lines[0], expected);
    unlink (path);

    snprintf (path, sizeof path, "%s/nope.yaml", dir);
    assert_null (zf_flow_load (path, &self->errors));
    snprintf (expected, sizeof expected, "%s: No such file or directory", path);
    assert_int_equal (self->errors.count, 2);
    assert_string_equal (self->errors.lines[1], expected);

    assert_null (zf_flow_load (dir, &self->errors));
    snprintf (expected, sizeof expected, "%s: Is a directory", dir);
    assert_int_equal (self->errors.count, 3);
    assert_string_equal (self->errors.lines[2], expected);

    assert_null (zf_flow_load (NULL, &self->errors));
    assert_string_equal (self->errors.lines[3], "<input>: no file name");
    assert_int_equal (rmdir (dir), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_minimal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_design_flow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_accepted_forms, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_path_and_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_task_index, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_yaml, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_empty_and_root, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_alias_tag_depth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_duplicate_and_odd_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_missing_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_names, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_kinds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_types, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_durations_times_dates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_weekdays_and_zone, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_run_and_service, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_shards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_dependencies, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cycles, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_topo_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_limit_size, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_limit_tasks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_limit_deps_and_holidays, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_limit_shard_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_limit_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_many_tasks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_load, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
