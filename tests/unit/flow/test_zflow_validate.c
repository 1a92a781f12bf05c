/*  The zflow binary's `validate` verb and its usage contract: exit 0 with one
    summary line, 1 with every error on stderr, 2 for bad usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zf_limits.h"

extern char **environ;

typedef struct {
    char binary[4096];  //  the zflow under test
    char flows[4096];   //  tests/flows in the source tree
    char folder[64];    //  a private temporary folder
    char out_path[128]; //  where the child's stdout goes
    char err_path[128]; //  where the child's stderr goes
    char *out;          //  the last run's stdout
    char *err;          //  the last run's stderr
} fixture_t;

static int
s_setup (void **state)
{
    const char *build = getenv ("ZF_BUILD_DIR");
    const char *source = getenv ("ZF_SOURCE_DIR");
    if (!build) build = ZF_TEST_BUILD_DIR;
    if (!source) source = ZF_TEST_SOURCE_DIR;
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    snprintf (self->binary, sizeof self->binary, "%s/bin/zflow", build);
    snprintf (self->flows, sizeof self->flows, "%s/tests/flows", source);
    strcpy (self->folder, "/tmp/zf_validate_XXXXXX");
    assert_non_null (mkdtemp (self->folder));
    snprintf (self->out_path, sizeof self->out_path, "%s/stdout", self->folder);
    snprintf (self->err_path, sizeof self->err_path, "%s/stderr", self->folder);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    free (self->out);
    free (self->err);
    unlink (self->out_path);
    unlink (self->err_path);
    char path[200];
    snprintf (path, sizeof path, "%s/many.yaml", self->folder);
    unlink (path);
    rmdir (self->folder);
    free (self);
    return 0;
}

//  Reads a whole file the child wrote.
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    size_t alloc = 1024, size = 0;
    char *text = malloc (alloc);
    assert_non_null (text);
    size_t got;
    while ((got = fread (text + size, 1, alloc - size - 1, file)) > 0) {
        size += got;
        if (size + 1 == alloc) {
            alloc *= 2;
            text = realloc (text, alloc);
            assert_non_null (text);
        }
    }
    text[size] = 0;
    fclose (file);
    return text;
}

//  Runs zflow with the given arguments (NULL ends them); returns its exit
//  status, with its output in self->out and self->err.
static int
s_run (fixture_t *self, ...)
{
    char *argv[16] = {self->binary};
    int argc = 1;
    va_list args;
    va_start (args, self);
    char *arg;
    while ((arg = va_arg (args, char *)) != NULL) {
        assert_true (argc < 15);
        argv[argc++] = arg;
    }
    va_end (args);
    argv[argc] = NULL;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 1, self->out_path, O_WRONLY | O_CREAT | O_TRUNC,
                                      0600);
    posix_spawn_file_actions_addopen (&actions, 2, self->err_path, O_WRONLY | O_CREAT | O_TRUNC,
                                      0600);
    pid_t pid;
    assert_int_equal (posix_spawn (&pid, self->binary, &actions, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy (&actions);
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    free (self->out);
    free (self->err);
    self->out = s_slurp (self->out_path);
    self->err = s_slurp (self->err_path);
    return WEXITSTATUS (status);
}

static void
test_valid_flow (void **state)
{
    fixture_t *self = *state;
    char path[4200];
    snprintf (path, sizeof path, "%s/good/design.yaml", self->flows);
    assert_int_equal (s_run (self, "validate", path, NULL), 0);
    assert_string_equal (self->out, "eod: valid, 6 tasks (2 sharded), 15 task instances per date, "
                                    "longest chain 6 tasks, timezone Asia/Shanghai\n");
    assert_string_equal (self->err, "");

    snprintf (path, sizeof path, "%s/good/minimal.yaml", self->flows);
    assert_int_equal (s_run (self, "-v", "validate", path, NULL), 0);
    assert_string_equal (self->out, "minimal: valid, 1 task (0 sharded), 1 task instance per "
                                    "date, longest chain 1 task, timezone UTC\n");
}

static void
test_invalid_flow (void **state)
{
    fixture_t *self = *state;
    char path[4200];
    snprintf (path, sizeof path, "%s/bad/wrong_kind.yaml", self->flows);
    assert_int_equal (s_run (self, "validate", path, NULL), 1);
    assert_string_equal (self->out, "");
    //  Every error, one per line, each starting with the path as given.
    int lines = 0;
    for (char *line = self->err; *line; lines++) {
        assert_memory_equal (line, path, strlen (path));
        char *end = strchr (line, '\n');
        assert_non_null (end);
        line = end + 1;
    }
    assert_int_equal (lines, 6);
    assert_non_null (strstr (self->err, ":7:12: after in task 'a' must be a list of task ids, "
                                        "got 'start'\n"));

    snprintf (path, sizeof path, "%s/bad/nope.yaml", self->flows);
    assert_int_equal (s_run (self, "validate", path, NULL), 1);
    char expected[4300];
    snprintf (expected, sizeof expected, "%s: No such file or directory\n", path);
    assert_string_equal (self->err, expected);
    assert_string_equal (self->out, "");
}

//  Past ZF_MAX_FLOW_ERRORS, the rest are counted on one last line.
static void
test_many_errors (void **state)
{
    fixture_t *self = *state;
    char path[200];
    snprintf (path, sizeof path, "%s/many.yaml", self->folder);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fprintf (file, "flow: many\ntasks:\n");
    for (int i = 0; i < ZF_MAX_FLOW_ERRORS + 25; i++)
        fprintf (file, "  - {id: t%d, run: r, retries: lots}\n", i);
    fclose (file);
    assert_int_equal (s_run (self, "validate", path, NULL), 1);
    int lines = 0;
    for (const char *p = self->err; *p; p++)
        lines += *p == '\n';
    assert_int_equal (lines, ZF_MAX_FLOW_ERRORS + 1);
    char last[300];
    snprintf (last, sizeof last, "\n%s: 25 more errors not shown\n", path);
    size_t length = strlen (self->err);
    assert_true (length > strlen (last));
    assert_string_equal (self->err + length - strlen (last), last);
}

static void
test_usage (void **state)
{
    fixture_t *self = *state;
    const char *usage = "usage: zflow [-h] [-v] [--version] VERB [ARGS...]\n";
    assert_int_equal (s_run (self, NULL), 2);
    assert_non_null (strstr (self->err, usage));
    assert_string_equal (self->out, "");

    assert_int_equal (s_run (self, "frobnicate", NULL), 2);
    assert_non_null (strstr (self->err, "zflow: unknown verb 'frobnicate'"));
    assert_non_null (strstr (self->err, usage));

    assert_int_equal (s_run (self, "--bogus", "validate", "x.yaml", NULL), 2);
    assert_string_equal (self->err, "zflow: unknown option '--bogus'\n"
                                    "usage: zflow [-h] [-v] [--version] VERB [ARGS...]\n");

    assert_int_equal (s_run (self, "validate", NULL), 2);
    assert_string_equal (self->err, "zflow validate: missing FILE\nusage: zflow validate FILE\n");
    assert_int_equal (s_run (self, "validate", "a.yaml", "b.yaml", NULL), 2);
    assert_string_equal (self->err, "zflow validate: unexpected argument 'b.yaml'\n"
                                    "usage: zflow validate FILE\n");
    assert_int_equal (s_run (self, "validate", "--strict", "a.yaml", NULL), 2);
    assert_string_equal (self->err, "zflow validate: unknown option '--strict'\n"
                                    "usage: zflow validate FILE\n");
}

static void
test_help_and_version (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (s_run (self, "--version", NULL), 0);
    assert_string_equal (self->out, "zflow " ZF_VERSION "\n");
    assert_int_equal (s_run (self, "-h", NULL), 0);
    assert_non_null (strstr (self->out, "usage: zflow"));
    assert_non_null (strstr (self->out, "validate FILE"));
    assert_string_equal (self->err, "");
    assert_int_equal (s_run (self, "--help", NULL), 0);
    assert_non_null (strstr (self->out, "validate FILE"));
    assert_int_equal (s_run (self, "validate", "--help", NULL), 0);
    assert_non_null (strstr (self->out, "usage: zflow validate FILE\n"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_valid_flow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_invalid_flow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_many_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_usage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_help_and_version, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
