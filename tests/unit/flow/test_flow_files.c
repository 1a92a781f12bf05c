/*  The flow files of tests/flows: every good one parses, every bad one gives
    exactly the errors written next to it in NAME.yaml.err, one per line, with
    the file's path spelled FILE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zf_flow.h"

typedef struct {
    char folder[4096];       //  tests/flows in the source tree
    zf_flow_errors_t errors; //  of the last file
    zf_flow_t *flow;         //  of the last file, or NULL
    struct dirent **names;   //  the folder being walked
    int count;               //  entries in names
} fixture_t;

static int
s_setup (void **state)
{
    const char *source = getenv ("ZF_SOURCE_DIR");
    if (!source) source = ZF_TEST_SOURCE_DIR;
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    snprintf (self->folder, sizeof self->folder, "%s/tests/flows", source);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    zf_flow_destroy (&self->flow);
    zf_flow_errors_clear (&self->errors);
    for (int i = 0; i < self->count; i++)
        free (self->names[i]);
    free (self->names);
    free (self);
    return 0;
}

//  scandir filter: flow files only, not their .err companions.
static int
s_is_yaml (const struct dirent *entry)
{
    size_t length = strlen (entry->d_name);
    return length > 5 && strcmp (entry->d_name + length - 5, ".yaml") == 0;
}

//  Lists the flow files of a subfolder, sorted by name.
static void
s_list (fixture_t *self, const char *sub)
{
    char path[4200];
    snprintf (path, sizeof path, "%s/%s", self->folder, sub);
    self->count = scandir (path, &self->names, s_is_yaml, alphasort);
    assert_true (self->count >= 0);
}

//  Reads a whole small file; NULL if it is missing.
static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) return NULL;
    char *text = calloc (1, 64 * 1024);
    assert_non_null (text);
    size_t size = fread (text, 1, 64 * 1024 - 1, file);
    assert_true (size < 64 * 1024 - 1);
    fclose (file);
    return text;
}

static void
test_good_flows_parse (void **state)
{
    fixture_t *self = *state;
    s_list (self, "good");
    assert_true (self->count >= 5);
    for (int i = 0; i < self->count; i++) {
        char path[4400];
        snprintf (path, sizeof path, "%s/good/%s", self->folder, self->names[i]->d_name);
        zf_flow_destroy (&self->flow);
        self->flow = zf_flow_load (path, &self->errors);
        for (uint32_t e = 0; e < self->errors.count; e++)
            print_message ("  reported: %s\n", self->errors.lines[e]);
        assert_non_null (self->flow);
        assert_int_equal (self->errors.count, 0);
        assert_true (self->flow->task_count > 0);
        assert_non_null (self->flow->topo);
    }
}

static void
test_bad_flows_report (void **state)
{
    fixture_t *self = *state;
    s_list (self, "bad");
    assert_true (self->count >= 38);
    int failures = 0;
    for (int i = 0; i < self->count; i++) {
        char path[4400], expected_path[4420];
        snprintf (path, sizeof path, "%s/bad/%s", self->folder, self->names[i]->d_name);
        snprintf (expected_path, sizeof expected_path, "%s.err", path);
        char *expected = s_read (expected_path);
        if (!expected) {
            print_error ("%s: no .err file beside it\n", path);
            failures++;
            continue;
        }
        zf_flow_errors_clear (&self->errors);
        self->flow = zf_flow_load (path, &self->errors);
        assert_null (self->flow);
        assert_int_equal (self->errors.dropped, 0);

        //  Rebuild the expected text from what was reported, path as FILE.
        size_t prefix = strlen (path);
        size_t size = 1;
        for (uint32_t e = 0; e < self->errors.count; e++)
            size += strlen (self->errors.lines[e]) + 8;
        char *got = calloc (1, size);
        assert_non_null (got);
        for (uint32_t e = 0; e < self->errors.count; e++) {
            const char *line = self->errors.lines[e];
            assert_memory_equal (line, path, prefix);
            strcat (got, "FILE");
            strcat (got, line + prefix);
            strcat (got, "\n");
        }
        if (strcmp (got, expected) != 0) {
            print_error ("%s: expected\n%sgot\n%s", self->names[i]->d_name, expected, got);
            failures++;
        }
        assert_true (self->errors.count > 0);
        free (got);
        free (expected);
    }
    assert_int_equal (failures, 0);
}

//  Every .err file belongs to a flow file, so none is silently skipped.
static void
test_no_stray_expectations (void **state)
{
    fixture_t *self = *state;
    char folder[4200];
    snprintf (folder, sizeof folder, "%s/bad", self->folder);
    DIR *dir = opendir (folder);
    assert_non_null (dir);
    int checked = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        size_t length = strlen (entry->d_name);
        if (length < 4 || strcmp (entry->d_name + length - 4, ".err") != 0) continue;
        char path[4500];
        snprintf (path, sizeof path, "%s/%.*s", folder, (int)(length - 4), entry->d_name);
        FILE *file = fopen (path, "rb");
        if (!file) print_error ("%s has no flow file\n", entry->d_name);
        assert_non_null (file);
        fclose (file);
        checked++;
    }
    closedir (dir);
    assert_true (checked >= 38);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_good_flows_parse, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_flows_report, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_stray_expectations, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
