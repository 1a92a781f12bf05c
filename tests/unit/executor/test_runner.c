/*  Tests of the process runner with real, short-lived processes: results,
    environment, working folder, timeouts, cancels, rollback, log files, and
    no process left behind, even one that left the job's process group
    (setsid, a double fork), and even when the executor is killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner.h"
#include "zf_proc.h"

#define S_RESULTS 16

//  A result as the runner reported it.
typedef struct {
    uint64_t job_id;
    int status;
    int32_t exit_status;
    int64_t started;
    int64_t ended;
    char tail[ZF_LOG_TAIL + 1];
    char path[512];
} s_result_t;

typedef struct {
    char dir[64];  //  temporary folder
    char logs[96]; //  log root inside it
    zloop_t *loop;
    zf_runner_t *runner;
    s_result_t results[S_RESULTS];
    size_t count;   //  results so far
    size_t want;    //  the loop ends when count reaches this
    size_t started; //  started callbacks
} s_fixture_t;

static int
s_on_done (void *arg, const zf_run_result_t *result)
{
    s_fixture_t *fx = arg;
    assert_true (fx->count < S_RESULTS);
    s_result_t *rec = &fx->results[fx->count++];
    rec->job_id = result->job_id;
    rec->status = result->status;
    rec->exit_status = result->exit_status;
    rec->started = result->started;
    rec->ended = result->ended;
    snprintf (rec->tail, sizeof rec->tail, "%s", result->log_tail);
    snprintf (rec->path, sizeof rec->path, "%s", result->log_path);
    return fx->count >= fx->want ? -1 : 0;
}

static void
s_on_started (void *arg, uint64_t job_id)
{
    ((s_fixture_t *)arg)->started++;
}

static zf_runner_t *
s_runner (s_fixture_t *fx, zloop_t *loop)
{
    zf_runner_config_t cfg = {fx->logs, "exec-t", 200, 0, 0};
    return zf_runner_new (loop, &cfg, s_on_started, s_on_done, fx);
}

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    strcpy (fx->dir, "/tmp/zf-runner-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    snprintf (fx->logs, sizeof fx->logs, "%s/logs", fx->dir);
    fx->loop = zloop_new ();
    zloop_set_nonstop (fx->loop, true);
    fx->runner = s_runner (fx, fx->loop);
    assert_non_null (fx->runner);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_runner_destroy (&fx->runner);
    zloop_destroy (&fx->loop);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (cmd), 0);
    free (fx);
    return 0;
}

static int
s_on_deadline (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

//  Runs the loop until want results in all have come, or timeout_ms passed.
static void
s_wait (s_fixture_t *fx, size_t want, int timeout_ms)
{
    fx->want = want;
    if (fx->count >= want) return;
    int timer = zloop_timer (fx->loop, (size_t)timeout_ms, 1, s_on_deadline, NULL);
    zloop_start (fx->loop);
    zloop_timer_end (fx->loop, timer);
    assert_int_equal (fx->count, want);
}

//  A job running command.
static zf_job_t
s_job (uint64_t id, const char *command)
{
    zf_job_t job = {
        .job_id = id,
        .key = {"eod", 20416, "accrue", ZF_SHARD_SOLE, 1},
        .service = "shell",
        .command = command,
    };
    return job;
}

static void
s_start (s_fixture_t *fx, const zf_job_t *job)
{
    char err[256] = "";
    int rc = zf_runner_start (fx->runner, job, err, sizeof err);
    if (rc != 0) fprintf (stderr, "start failed: %s\n", err);
    assert_int_equal (rc, 0);
}

//  Reads the first numbers of a file; both are 0 when it cannot be read.
static int
s_read_pids (const char *path, pid_t *a, pid_t *b)
{
    *a = *b = 0;
    FILE *file = fopen (path, "r");
    if (!file) return -1;
    int x = 0, y = 0;
    int n = fscanf (file, "%d %d", &x, &y);
    fclose (file);
    *a = x;
    *b = y;
    return n;
}

//  Makes a FIFO named name in the fixture's folder; its path goes in path.
static void
s_fifo (s_fixture_t *fx, const char *name, char *path, size_t size)
{
    snprintf (path, size, "%s/%s", fx->dir, name);
    assert_int_equal (mkfifo (path, 0600), 0);
}

//  Reads a pid a process writes into a FIFO: opening it waits for the
//  writer, a handshake without sleeping.
static pid_t
s_fifo_pid (const char *path)
{
    int fd = open (path, O_RDONLY);
    assert_true (fd >= 0);
    char text[32] = "";
    size_t got = 0;
    ssize_t rc;
    while (got < sizeof text - 1 && (rc = read (fd, text + got, sizeof text - 1 - got)) > 0)
        got += (size_t)rc;
    close (fd);
    pid_t pid = (pid_t)atoi (text);
    assert_true (pid > 1);
    return pid;
}

//  Seconds on the monotonic clock.
static double
s_seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_success_and_environment (void **state)
{
    s_fixture_t *fx = *state;
    const char *env[] = {"EXTRA=more", "ZFLOW_TASK=spoofed"};
    zf_job_t job = s_job (1, "echo \"$ZFLOW_FLOW $ZFLOW_DATE $ZFLOW_TASK $ZFLOW_ATTEMPT "
                             "$ZFLOW_SHARD_INDEX/$ZFLOW_SHARD_COUNT [$ZFLOW_SHARD_KEY] "
                             "$ZFLOW_EXECUTOR $EXTRA\"; echo to-stderr >&2");
    job.env = env;
    job.env_count = 2;
    s_start (fx, &job);
    assert_int_equal (fx->started, 1);
    assert_int_equal (zf_runner_running (fx->runner), 1);
    s_wait (fx, 1, 5000);
    s_result_t *r = &fx->results[0];
    assert_int_equal (r->job_id, 1);
    assert_int_equal (r->status, ZF_JOB_SUCCEEDED);
    assert_int_equal (r->exit_status, 0);
    assert_string_equal (r->tail, "eod 2025-11-24 accrue 1 0/1 [] exec-t more\nto-stderr\n");
    assert_true (r->ended >= r->started);
    //  The log file sits at LOG_ROOT/FLOW/DATE/TASK.ATTEMPT.log.
    char path[256];
    snprintf (path, sizeof path, "%s/eod/2025-11-24/accrue.1.log", fx->logs);
    assert_string_equal (r->path, path);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_size, (off_t)strlen (r->tail));
    assert_int_equal (zf_runner_running (fx->runner), 0);
}

//  A job that prints nothing leaves no log file, and no file an earlier
//  execution of the same attempt left stands for it.
static void
test_silent_job_leaves_no_file (void **state)
{
    s_fixture_t *fx = *state;
    char dir[256], path[300];
    snprintf (dir, sizeof dir, "mkdir -p '%s/eod/2025-11-24'", fx->logs);
    assert_int_equal (system (dir), 0);
    snprintf (path, sizeof path, "%s/eod/2025-11-24/accrue.1.log", fx->logs);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs ("from an earlier execution\n", file);
    fclose (file);
    zf_job_t job = s_job (31, "/bin/true");
    s_start (fx, &job);
    s_wait (fx, 1, 5000);
    assert_int_equal (fx->results[0].status, ZF_JOB_SUCCEEDED);
    assert_string_equal (fx->results[0].tail, "");
    struct stat st;
    assert_int_equal (stat (path, &st), -1);
}

//  Plain commands with a path run without the shell and behave as under it:
//  arguments, exit status, environment, the working folder; a script without
//  #! still runs (through the shell); a missing program exits 127.
static void
test_plain_commands (void **state)
{
    s_fixture_t *fx = *state;
    char script[128], bare[128];
    snprintf (script, sizeof script, "%s/args.sh", fx->dir);
    snprintf (bare, sizeof bare, "%s/bare", fx->dir);
    FILE *file = fopen (script, "w");
    assert_non_null (file);
    fprintf (file, "#!/bin/sh\necho \"$# $1 $2 $ZFLOW_TASK $(pwd)\"\nexit 4\n");
    fclose (file);
    file = fopen (bare, "w");
    assert_non_null (file);
    fprintf (file, "echo no-interpreter-line\n");
    fclose (file);
    assert_int_equal (chmod (script, 0755), 0);
    assert_int_equal (chmod (bare, 0755), 0);

    zf_job_t job = s_job (21, "./args.sh  one\ttwo");
    job.cwd = fx->dir;
    s_start (fx, &job);
    zf_job_t nohashbang = s_job (22, "./bare");
    nohashbang.cwd = fx->dir;
    s_start (fx, &nohashbang);
    zf_job_t missing = s_job (23, "./no-such-program --flag");
    missing.cwd = fx->dir;
    s_start (fx, &missing);
    s_wait (fx, 3, 5000);
    for (size_t i = 0; i < 3; i++) {
        s_result_t *r = &fx->results[i];
        if (r->job_id == 21) {
            char expect[192];
            snprintf (expect, sizeof expect, "2 one two accrue %s\n", fx->dir);
            assert_string_equal (r->tail, expect);
            assert_int_equal (r->exit_status, 4);
        } else if (r->job_id == 22) {
            assert_int_equal (r->status, ZF_JOB_SUCCEEDED);
            assert_string_equal (r->tail, "no-interpreter-line\n");
        } else {
            assert_int_equal (r->job_id, 23);
            assert_int_equal (r->exit_status, 127);
            assert_non_null (strstr (r->tail, "zflow: cannot run ./no-such-program: not found"));
        }
    }
}

static void
test_shards_failure_and_cwd (void **state)
{
    s_fixture_t *fx = *state;
    zf_job_t job = s_job (2, "echo \"$ZFLOW_SHARD_INDEX/$ZFLOW_SHARD_COUNT $ZFLOW_SHARD_KEY\"; "
                             "pwd; exit 3");
    job.key.shard = 1;
    job.shard_count = 2;
    job.shard_key = "west";
    job.key.attempt = 2;
    job.cwd = fx->dir;
    s_start (fx, &job);
    zf_job_t bad_cwd = s_job (3, "echo never");
    bad_cwd.cwd = "/nonexistent/folder";
    s_start (fx, &bad_cwd);
    s_wait (fx, 2, 5000);
    for (size_t i = 0; i < 2; i++) {
        s_result_t *r = &fx->results[i];
        assert_int_equal (r->status, ZF_JOB_FAILED);
        if (r->job_id == 2) {
            assert_int_equal (r->exit_status, 3);
            char expect[160];
            snprintf (expect, sizeof expect, "1/2 west\n%s\n", fx->dir);
            assert_string_equal (r->tail, expect);
            assert_non_null (strstr (r->path, "/accrue.1.2.log"));
        } else {
            assert_int_equal (r->exit_status, 127);
            assert_non_null (strstr (r->tail, "cannot enter the working folder"));
        }
    }
}

static void
test_timeout (void **state)
{
    s_fixture_t *fx = *state;
    //  A job that stops on SIGTERM, and one that ignores it and needs SIGKILL.
    zf_job_t polite = s_job (4, "sleep 30");
    polite.timeout_ms = 100;
    zf_job_t stubborn = s_job (5, "trap '' TERM; echo waiting; sleep 30 & wait; sleep 30");
    stubborn.key.task = "stubborn";
    stubborn.timeout_ms = 100;
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    s_start (fx, &polite);
    s_start (fx, &stubborn);
    s_wait (fx, 2, 5000);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    for (size_t i = 0; i < 2; i++) {
        s_result_t *r = &fx->results[i];
        assert_int_equal (r->status, ZF_JOB_TIMED_OUT);
        assert_non_null (strstr (r->tail, "[zflow: timed out]"));
        if (r->job_id == 4)
            assert_int_equal (r->exit_status, -SIGTERM);
        else
            assert_int_equal (r->exit_status, -SIGKILL);
    }
    //  Timeout plus grace, well under the 30 s the jobs wanted.
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true (seconds < 3.0);
}

static void
test_cancel (void **state)
{
    s_fixture_t *fx = *state;
    zf_job_t job = s_job (6, "sleep 30");
    s_start (fx, &job);
    assert_int_equal (zf_runner_cancel (fx->runner, 6), 0);
    assert_int_equal (zf_runner_cancel (fx->runner, 99), -1);
    s_wait (fx, 1, 5000);
    assert_int_equal (fx->results[0].status, ZF_JOB_CANCELLED);
    assert_non_null (strstr (fx->results[0].tail, "[zflow: cancelled]"));
}

static void
test_nothing_left_behind (void **state)
{
    s_fixture_t *fx = *state;
    char pids[128], command[256];
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (command, sizeof command, "sleep 30 & echo $! $$ > %s; echo done", pids);
    zf_job_t job = s_job (7, command);
    s_start (fx, &job);
    s_wait (fx, 1, 5000);
    assert_int_equal (fx->results[0].status, ZF_JOB_SUCCEEDED);
    pid_t sleeper = 0, shell = 0;
    assert_int_equal (s_read_pids (pids, &sleeper, &shell), 2);
    //  The background sleep was killed with the job's group.
    assert_true (zf_proc_await_gone (sleeper, 5000));
    assert_true (zf_proc_gone (shell));
}

static void
test_rollback_first (void **state)
{
    s_fixture_t *fx = *state;
    char marker[128], rollback[192], command[192];
    snprintf (marker, sizeof marker, "%s/undone", fx->dir);
    snprintf (rollback, sizeof rollback, "echo undo > %s", marker);
    snprintf (command, sizeof command, "cat %s", marker);
    zf_job_t job = s_job (8, command);
    job.rollback = rollback;
    s_start (fx, &job);
    zf_job_t failing = s_job (9, "echo must-not-run");
    failing.key.task = "other";
    failing.rollback = "exit 4";
    s_start (fx, &failing);
    s_wait (fx, 2, 5000);
    for (size_t i = 0; i < 2; i++) {
        s_result_t *r = &fx->results[i];
        if (r->job_id == 8) {
            assert_int_equal (r->status, ZF_JOB_SUCCEEDED);
            assert_non_null (strstr (r->tail, "rollback done"));
            assert_non_null (strstr (r->tail, "undo\n"));
        } else {
            assert_int_equal (r->status, ZF_JOB_FAILED);
            assert_int_equal (r->exit_status, 4);
            assert_null (strstr (r->tail, "must-not-run"));
        }
    }
}

static void
test_log_cap_and_copy (void **state)
{
    s_fixture_t *fx = *state;
    zf_runner_destroy (&fx->runner);
    zf_runner_config_t cfg = {fx->logs, "exec-t", 200, 2048, 0};
    fx->runner = zf_runner_new (fx->loop, &cfg, NULL, s_on_done, fx);
    zf_job_t job = s_job (10, "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done");
    job.key.shard = 0;
    job.shard_count = 4;
    job.copy = 1;
    s_start (fx, &job);
    s_wait (fx, 1, 10000);
    s_result_t *r = &fx->results[0];
    assert_int_equal (r->status, ZF_JOB_SUCCEEDED);
    assert_non_null (strstr (r->path, "/accrue.0.1.copy.log"));
    struct stat st;
    assert_int_equal (stat (r->path, &st), 0);
    assert_true (st.st_size <= 2048);
    char *data = calloc (1, 4096);
    FILE *file = fopen (r->path, "r");
    size_t size = fread (data, 1, 4095, file);
    fclose (file);
    assert_memory_equal (data, "line 0\nline 1\n", 14);
    assert_non_null (strstr (data, "bytes left out]"));
    assert_memory_equal (data + size - 10, "line 1999\n", 10);
    free (data);
    //  The tail in the result is the last ZF_LOG_TAIL bytes of output.
    assert_int_equal (strlen (r->tail), ZF_LOG_TAIL);
}

static void
test_refused_jobs (void **state)
{
    s_fixture_t *fx = *state;
    char err[256];
    zf_job_t job = s_job (11, NULL);
    assert_int_equal (zf_runner_start (fx->runner, &job, err, sizeof err), -1);
    job = s_job (12, "true");
    job.key.flow = "../../etc";
    assert_int_equal (zf_runner_start (fx->runner, &job, err, sizeof err), -1);
    assert_non_null (strstr (err, "log path"));
    assert_false (zf_runner_safe_name (".hidden"));
    assert_false (zf_runner_safe_name (""));
    assert_true (zf_runner_safe_name ("eod-2"));
    assert_int_equal (zf_runner_running (fx->runner), 0);
}

static void
test_destroy_kills_jobs (void **state)
{
    s_fixture_t *fx = *state;
    char pids[128], fifo[128], command[512];
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (fifo, sizeof fifo, "%s/fifo", fx->dir);
    assert_int_equal (mkfifo (fifo, 0600), 0);
    //  The job reports its pids through a FIFO: opening it for writing waits
    //  for this test to open it for reading, a handshake without sleeping.
    snprintf (command, sizeof command,
              "sleep 30 & echo $! $$ > %s; setsid sh -c 'echo $$ > %s; exec sleep 300' & wait",
              pids, fifo);
    zf_job_t job = s_job (13, command);
    s_start (fx, &job);
    pid_t daemon = s_fifo_pid (fifo);
    assert_int_equal (getsid (daemon), daemon);
    pid_t sleeper = 0, shell = 0;
    assert_int_equal (s_read_pids (pids, &sleeper, &shell), 2);
    assert_false (zf_proc_gone (sleeper));
    zf_runner_destroy (&fx->runner);
    assert_true (zf_proc_await_gone (shell, 5000));
    assert_true (zf_proc_await_gone (sleeper, 5000));
    assert_true (zf_proc_await_gone (daemon, 5000));
    //  No callback for jobs killed on destroy.
    assert_int_equal (fx->count, 0);
}

//  The executor is killed outright (SIGKILL): the keeper kills the shell
//  and everything it started, in its group or not.
static void
test_executor_killed (void **state)
{
    s_fixture_t *fx = *state;
    char pids[128], fifo[128], command[512];
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (fifo, sizeof fifo, "%s/fifo", fx->dir);
    assert_int_equal (mkfifo (fifo, 0600), 0);
    snprintf (command, sizeof command,
              "sleep 30 & echo $! $$ > %s; setsid sh -c 'echo $$ > %s; exec sleep 300' & wait",
              pids, fifo);
    pid_t executor = fork ();
    assert_true (executor >= 0);
    if (executor == 0) {
        zloop_t *loop = zloop_new ();
        zf_runner_t *runner = s_runner (fx, loop);
        zf_job_t job = s_job (14, command);
        char err[256];
        if (!runner || zf_runner_start (runner, &job, err, sizeof err) != 0) _exit (1);
        zloop_start (loop);
        _exit (0);
    }
    pid_t daemon = s_fifo_pid (fifo);
    assert_int_equal (getsid (daemon), daemon);
    pid_t sleeper = 0, shell = 0;
    assert_int_equal (s_read_pids (pids, &sleeper, &shell), 2);
    assert_false (zf_proc_gone (sleeper));
    assert_false (zf_proc_gone (shell));
    kill (executor, SIGKILL);
    assert_int_equal (waitpid (executor, NULL, 0), executor);
    assert_true (zf_proc_await_gone (shell, 5000));
    assert_true (zf_proc_await_gone (sleeper, 5000));
    assert_true (zf_proc_await_gone (daemon, 5000));
    //  The keeper and the guard, orphans now, end too (this test is their
    //  subreaper).
    int status;
    pid_t reaped;
    while ((reaped = waitpid (-1, &status, WNOHANG)) > 0)
        ;
}

//  A grandchild that left the job's group and session (setsid) dies when
//  the shell ends, though it still holds the output pipe and keeps
//  writing to it (a closed pipe would not stop it: it ignores SIGPIPE):
//  the job ends at once with the shell's output.
static void
test_setsid_child_killed_at_end (void **state)
{
    s_fixture_t *fx = *state;
    char fifo[128], pids[128], command[512];
    s_fifo (fx, "fifo", fifo, sizeof fifo);
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (
        command, sizeof command,
        "setsid sh -c 'trap \"\" PIPE; echo $$ > %s; while :; do echo tick; sleep 0.01; done' & "
        "read p < %s; echo $p > %s; echo started",
        fifo, fifo, pids);
    zf_job_t job = s_job (40, command);
    double t0 = s_seconds ();
    s_start (fx, &job);
    s_wait (fx, 1, 5000);
    assert_true (s_seconds () - t0 < 3.0);
    s_result_t *r = &fx->results[0];
    assert_int_equal (r->status, ZF_JOB_SUCCEEDED);
    assert_int_equal (r->exit_status, 0);
    assert_non_null (strstr (r->tail, "started\n"));
    pid_t daemon = 0, unused = 0;
    assert_true (s_read_pids (pids, &daemon, &unused) >= 1);
    assert_true (zf_proc_await_gone (daemon, 5000));
}

//  A daemon started the classic way (a subshell starts it and exits, so it
//  is nobody's child, in its own session) dies when the shell ends.
static void
test_double_fork_daemon_killed (void **state)
{
    s_fixture_t *fx = *state;
    char fifo[128], pids[128], command[512];
    s_fifo (fx, "fifo", fifo, sizeof fifo);
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (command, sizeof command,
              "(setsid sh -c 'echo $$ > %s; exec sleep 300' > /dev/null 2>&1 &); "
              "read p < %s; echo $p > %s",
              fifo, fifo, pids);
    zf_job_t job = s_job (41, command);
    s_start (fx, &job);
    s_wait (fx, 1, 5000);
    assert_int_equal (fx->results[0].status, ZF_JOB_SUCCEEDED);
    pid_t daemon = 0, unused = 0;
    assert_true (s_read_pids (pids, &daemon, &unused) >= 1);
    assert_true (zf_proc_await_gone (daemon, 5000));
}

//  A cancel sends SIGTERM to a grandchild outside the job's group too (it
//  notes the signal), and the grandchild is gone when the job has ended.
static void
test_cancel_reaches_setsid_child (void **state)
{
    s_fixture_t *fx = *state;
    char fifo[128], ready[128], marker[128], command[640];
    s_fifo (fx, "fifo", fifo, sizeof fifo);
    s_fifo (fx, "ready", ready, sizeof ready);
    snprintf (marker, sizeof marker, "%s/term", fx->dir);
    //  The shell ignores SIGTERM once the grandchild runs, so only the
    //  keeper's signal to the whole tree can reach the grandchild's trap.
    //  The shell says it is ready once both traps are set.
    snprintf (command, sizeof command,
              "setsid sh -c 'trap \"echo term > %s; exit 0\" TERM; echo $$ > %s; "
              "sleep 300 & wait' & trap '' TERM; read p < %s; echo $p > %s; wait",
              marker, fifo, fifo, ready);
    zf_job_t job = s_job (42, command);
    s_start (fx, &job);
    pid_t child = s_fifo_pid (ready);
    assert_int_equal (getsid (child), child);
    assert_int_equal (zf_runner_cancel (fx->runner, 42), 0);
    s_wait (fx, 1, 5000);
    s_result_t *r = &fx->results[0];
    assert_int_equal (r->status, ZF_JOB_CANCELLED);
    assert_true (zf_proc_await_gone (child, 5000));
    FILE *file = fopen (marker, "r");
    assert_non_null (file);
    char text[16] = "";
    assert_non_null (fgets (text, sizeof text, file));
    fclose (file);
    assert_string_equal (text, "term\n");
}

//  A timeout with a grandchild outside the group that ignores SIGTERM, as
//  the shell does: both get SIGKILL after the grace period.
static void
test_timeout_kills_setsid_child (void **state)
{
    s_fixture_t *fx = *state;
    char fifo[128], command[512];
    s_fifo (fx, "fifo", fifo, sizeof fifo);
    snprintf (command, sizeof command,
              "trap '' TERM; setsid sh -c 'echo $$ > %s; exec sleep 300' & wait", fifo);
    zf_job_t job = s_job (43, command);
    job.timeout_ms = 300;
    s_start (fx, &job);
    pid_t child = s_fifo_pid (fifo);
    assert_int_equal (getsid (child), child);
    s_wait (fx, 1, 5000);
    s_result_t *r = &fx->results[0];
    assert_int_equal (r->status, ZF_JOB_TIMED_OUT);
    assert_int_equal (r->exit_status, -SIGKILL);
    assert_true (zf_proc_await_gone (child, 5000));
}

//  The result carries the shell's own end through its keeper: an exit code,
//  or the signal that killed it.
static void
test_exit_status_through_keeper (void **state)
{
    s_fixture_t *fx = *state;
    zf_job_t code = s_job (44, "exit 7");
    zf_job_t usr1 = s_job (45, "kill -USR1 $$");
    usr1.key.task = "usr1";
    zf_job_t segv = s_job (46, "kill -SEGV $$");
    segv.key.task = "segv";
    segv.cwd = fx->dir;
    zf_job_t direct = s_job (47, "/bin/false");
    direct.key.task = "direct";
    s_start (fx, &code);
    s_start (fx, &usr1);
    s_start (fx, &segv);
    s_start (fx, &direct);
    s_wait (fx, 4, 5000);
    for (size_t i = 0; i < 4; i++) {
        s_result_t *r = &fx->results[i];
        assert_int_equal (r->status, ZF_JOB_FAILED);
        int32_t expect = r->job_id == 44   ? 7
                         : r->job_id == 45 ? -SIGUSR1
                         : r->job_id == 46 ? -SIGSEGV
                                           : 1;
        assert_int_equal (r->exit_status, expect);
    }
}

//  With a lease, a job runs on while the runner's loop turns (it renews
//  the lease), and is killed, with every descendant, once the loop stands
//  still for the lease (a stopped or hung executor), saying why in its log.
static void
test_lease_kills_a_silent_executors_task (void **state)
{
    s_fixture_t *fx = *state;
    zf_runner_destroy (&fx->runner);
    zf_runner_config_t cfg = {fx->logs, "exec-t", 200, 0, 300};
    fx->runner = zf_runner_new (fx->loop, &cfg, NULL, s_on_done, fx);
    assert_non_null (fx->runner);
    //  1 s of work, three leases long: the turning loop keeps it alive.
    zf_job_t job = s_job (70, "sleep 1; echo done");
    s_start (fx, &job);
    s_wait (fx, 1, 5000);
    assert_int_equal (fx->results[0].status, ZF_JOB_SUCCEEDED);
    assert_non_null (strstr (fx->results[0].tail, "done"));

    //  The loop stands still for four leases: the keeper kills the task and
    //  the daemon it started in a session of its own.
    char pids[128], command[512];
    snprintf (pids, sizeof pids, "%s/pids", fx->dir);
    snprintf (command, sizeof command,
              "setsid sh -c 'echo $$ > %s; exec sleep 30' & sleep 30; echo finished", pids);
    job = s_job (71, command);
    s_start (fx, &job);
    pid_t daemon = 0, unused = 0;
    for (int i = 0; i < 200 && s_read_pids (pids, &daemon, &unused) < 1; i++)
        usleep (10000);
    assert_true (daemon > 0);
    usleep (1200 * 1000);
    double t0 = s_seconds ();
    s_wait (fx, 2, 5000);
    assert_true (s_seconds () - t0 < 1.0); //  it ended while the loop stood still
    s_result_t *r = &fx->results[1];
    assert_int_equal (r->status, ZF_JOB_FAILED);
    assert_int_equal (r->exit_status, -SIGKILL);
    assert_null (strstr (r->tail, "finished"));
    assert_non_null (strstr (r->tail, "the executor fell silent for its lease"));
    assert_true (zf_proc_await_gone (daemon, 5000));
}

int
main (void)
{
    //  Orphans of the processes these tests start come to this process, so
    //  it can watch them end and reap them.
    zf_proc_subreaper ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_success_and_environment, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_shards_failure_and_cwd, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_silent_job_leaves_no_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_plain_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cancel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_nothing_left_behind, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_rollback_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_log_cap_and_copy, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused_jobs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_destroy_kills_jobs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_executor_killed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_setsid_child_killed_at_end, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_double_fork_daemon_killed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cancel_reaches_setsid_child, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_timeout_kills_setsid_child, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_exit_status_through_keeper, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lease_kills_a_silent_executors_task, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
