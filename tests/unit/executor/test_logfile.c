/*  Tests of capped log files: head, marker, and the tail in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "logfile.h"
#include "zf_tail.h"

typedef struct {
    char dir[64];   //  temporary folder
    char path[128]; //  a log file in a subfolder of it
} s_fixture_t;

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    strcpy (fx->dir, "/tmp/zf-logfile-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    snprintf (fx->path, sizeof fx->path, "%s/eod/2026-11-24/accrue.1.log", fx->dir);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (cmd), 0);
    free (fx);
    return 0;
}

//  Reads a whole file into a new nul-terminated buffer.
static char *
s_read (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    char *data = calloc (1, 1 << 20);
    *size = fread (data, 1, (1 << 20) - 1, file);
    fclose (file);
    return data;
}

static void
test_small_output_verbatim (void **state)
{
    s_fixture_t *fx = *state;
    zf_logfile_t *log = zf_logfile_open (fx->path, 4096);
    assert_non_null (log);
    assert_int_equal (zf_logfile_write (log, "hello\n", 6), 0);
    assert_int_equal (zf_logfile_write (log, "world\n", 6), 0);
    assert_int_equal (zf_logfile_total (log), 12);
    zf_logfile_close (&log);
    assert_null (log);
    zf_logfile_close (&log);
    size_t size;
    char *data = s_read (fx->path, &size);
    assert_int_equal (size, 12);
    assert_string_equal (data, "hello\nworld\n");
    free (data);
}

//  The file comes with the first output; a log without output leaves no
//  file, not even one an earlier execution of the attempt left there.
static void
test_file_comes_with_output (void **state)
{
    s_fixture_t *fx = *state;
    struct stat st;
    zf_logfile_t *log = zf_logfile_open (fx->path, 4096);
    assert_non_null (log);
    assert_int_equal (zf_logfile_write (log, "", 0), 0);
    assert_false (zf_logfile_created (log));
    assert_int_equal (stat (fx->path, &st), -1);
    zf_logfile_close (&log);
    assert_int_equal (stat (fx->path, &st), -1);

    log = zf_logfile_open (fx->path, 4096);
    assert_int_equal (zf_logfile_write (log, "old\n", 4), 0);
    assert_true (zf_logfile_created (log));
    zf_logfile_close (&log);
    assert_int_equal (stat (fx->path, &st), 0);
    log = zf_logfile_open (fx->path, 4096);
    zf_logfile_close (&log);
    assert_int_equal (stat (fx->path, &st), -1);

    //  A file that cannot be made: the write says so, and so do later ones.
    char blocked[300];
    snprintf (blocked, sizeof blocked, "%s/file", fx->dir);
    FILE *file = fopen (blocked, "w");
    assert_non_null (file);
    fclose (file);
    char below[320];
    snprintf (below, sizeof below, "%s/file/x/accrue.1.log", fx->dir);
    log = zf_logfile_open (below, 4096);
    assert_int_equal (zf_logfile_write (log, "x", 1), -1);
    assert_int_equal (zf_logfile_write (log, "y", 1), -1);
    assert_int_equal (zf_logfile_write (log, "", 0), -1);
    assert_int_equal (zf_logfile_total (log), 0);
    zf_logfile_close (&log);
}

//  Writes numbered lines "line 00000\n" (11 bytes each) in uneven chunks.
static void
s_write_lines (zf_logfile_t *log, zf_tail_t *tail, int count)
{
    char buf[11 * 64];
    int line = 0;
    while (line < count) {
        size_t used = 0;
        int batch = 1 + line % 37;
        for (int i = 0; i < batch && line < count; i++, line++)
            used += (size_t)sprintf (buf + used, "line %05d\n", line);
        assert_int_equal (zf_logfile_write (log, buf, used), 0);
        if (tail) zf_tail_add (tail, buf, used);
    }
}

static void
test_cap_keeps_head_and_tail (void **state)
{
    s_fixture_t *fx = *state;
    const size_t cap = 2048;
    zf_logfile_t *log = zf_logfile_open (fx->path, cap);
    zf_tail_t tail = {0};
    s_write_lines (log, &tail, 5000);
    assert_int_equal (zf_logfile_total (log), 5000 * 11);
    zf_logfile_close (&log);
    size_t size;
    char *data = s_read (fx->path, &size);
    assert_true (size <= cap);
    //  The head is the first lines as written.
    assert_memory_equal (data, "line 00000\nline 00001\n", 22);
    //  A marker says how much was left out.
    assert_non_null (strstr (data, "bytes left out]"));
    //  The file ends with the last lines, in order.
    const char *end = "line 04998\nline 04999\n";
    assert_memory_equal (data + size - strlen (end), end, strlen (end));
    //  After the marker line (and the line the ring cut into), every line
    //  follows the one before it.
    char *after = strchr (strstr (data, "bytes left out]"), '\n') + 1;
    char *save = NULL;
    char *line = strtok_r (after, "\n", &save);
    int previous = -1, n;
    while ((line = strtok_r (NULL, "\n", &save))) {
        assert_int_equal (sscanf (line, "line %05d", &n), 1);
        if (previous >= 0) assert_int_equal (n, previous + 1);
        previous = n;
    }
    assert_int_equal (previous, 4999);
    free (data);
    //  The in-memory tail holds the last ZF_LOG_TAIL bytes.
    char text[ZF_LOG_TAIL + 1];
    size_t len = zf_tail_text (&tail, text, sizeof text);
    assert_int_equal (len, ZF_LOG_TAIL);
    assert_memory_equal (text + len - strlen (end), end, strlen (end));
}

static void
test_cap_boundaries (void **state)
{
    s_fixture_t *fx = *state;
    //  Exactly the cap: kept whole, no marker. One byte more: marker.
    const size_t cap = 1024;
    for (int extra = 0; extra < 2; extra++) {
        zf_logfile_t *log = zf_logfile_open (fx->path, cap);
        char *bytes = malloc (cap + 1);
        for (size_t i = 0; i < cap + 1; i++)
            bytes[i] = (char)('a' + i % 26);
        zf_logfile_write (log, bytes, cap + (size_t)extra);
        zf_logfile_close (&log);
        size_t size;
        char *data = s_read (fx->path, &size);
        assert_true (size <= cap);
        if (extra == 0) {
            assert_int_equal (size, cap);
            assert_memory_equal (data, bytes, cap);
        } else {
            assert_non_null (strstr (data, "[zflow: 65 bytes left out]"));
            assert_int_equal (data[size - 1], bytes[cap]);
        }
        free (data);
        free (bytes);
    }
    //  A cap below the minimum is raised to it.
    zf_logfile_t *log = zf_logfile_open (fx->path, 10);
    char big[4000];
    memset (big, 'x', sizeof big);
    zf_logfile_write (log, big, sizeof big);
    zf_logfile_close (&log);
    struct stat st;
    assert_int_equal (stat (fx->path, &st), 0);
    assert_int_equal (st.st_size, ZF_LOGFILE_MIN_CAP);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_small_output_verbatim, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_file_comes_with_output, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cap_keeps_head_and_tail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cap_boundaries, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
