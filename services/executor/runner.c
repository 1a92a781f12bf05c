/*  runner.c - shell jobs under keepers, watched from a zloop. */
#include "runner.h"
#include "guard.h"
#include "keeper.h"
#include "logfile.h"
#include "zf_tail.h"
#include "zf_log.h"
#include "zf_time.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  Bytes read from an output pipe per read call.
#define S_READ_CHUNK 16384

//  Reads per readiness, so one noisy job cannot hold the loop.
#define S_READS_PER_TURN 16

typedef struct _s_run_t s_run_t;

//  One job: its rollback (if any), then its command.
struct _s_run_t {
    zf_runner_t *runner; //  the runner it belongs to
    uint64_t job_id;     //  the job's id
    char *command;       //  the job's command
    char *rollback;      //  the rollback command still to run first, or NULL
    char *cwd;           //  working folder, or NULL
    char **envp;         //  environment, NULL-terminated
    pid_t pid;           //  the running keeper (it ends as its shell ended), 0 if none
    int control_fd;      //  the runner's end of the keeper's control socket, -1 if none
    int pidfd;           //  readable once the keeper exits, -1 if none
    int out_fd;          //  read end of the output pipe, -1 once closed
    bool in_rollback;    //  the rollback command is what runs
    bool log_failed;     //  writing its log failed (said once)
    int kill_status;     //  ZF_JOB_TIMED_OUT or _CANCELLED once killed, else 0
    int timeout_timer;   //  zloop timer of the timeout, or -1
    int grace_timer;     //  zloop timer of the SIGKILL, or -1
    zf_logfile_t *log;   //  the attempt's log file
    char *log_path;      //  its path
    zf_tail_t tail;      //  the last output
    int64_t started;     //  ms since the epoch
    s_run_t *next;       //  in the runner's list
};

struct _zf_runner_t {
    zloop_t *loop;                 //  where readers and timers go (borrowed)
    char *log_root;                //  folder of the task logs
    char *executor;                //  ZFLOW_EXECUTOR
    char *keeper;                  //  the zflow-keeper program
    int64_t grace_ms;              //  SIGTERM to SIGKILL
    int64_t lease_ms;              //  the keepers' lease, or 0
    int lease_timer;               //  zloop timer that renews it, or -1
    size_t log_cap;                //  bytes kept per log file
    zf_runner_started_fn *started; //  called when a job starts
    zf_runner_done_fn *done;       //  called when a job ends
    void *arg;                     //  for the callbacks
    pid_t guard_pid;               //  the guard process
    int guard_fd;                  //  write end of the guard's pipe
    s_run_t *runs;                 //  jobs running
    size_t running;                //  entries in runs
};

//  ---------------------------------------------------------------------------
//  Runner

//  The zflow-keeper program: beside the running program, as the build and
//  an installation put them. NULL if it is not there.
static char *
s_keeper_path (void)
{
    char path[PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", path, sizeof path - 1);
    if (size <= 0) return NULL;
    path[size] = 0;
    char *slash = strrchr (path, '/');
    if (!slash || (size_t)(slash - path) + sizeof "/zflow-keeper" > sizeof path) return NULL;
    strcpy (slash, "/zflow-keeper");
    if (access (path, X_OK) != 0) {
        zf_log_error ("task keeper missing path=%s", path);
        return NULL;
    }
    return strdup (path);
}

//  Renews the lease of every keeper: the executor lives.
static int
s_on_lease (zloop_t *loop, int timer_id, void *arg)
{
    zf_runner_t *self = arg;
    for (s_run_t *run = self->runs; run; run = run->next)
        if (run->control_fd >= 0) zf_keeper_request (run->control_fd, 'H');
    return 0;
}

zf_runner_t *
zf_runner_new (zloop_t *loop, const zf_runner_config_t *cfg, zf_runner_started_fn *started,
               zf_runner_done_fn *done, void *arg)
{
    assert (loop && cfg && done);
    if (!cfg->log_root || !cfg->executor) return NULL;
    zf_runner_t *self = calloc (1, sizeof (zf_runner_t));
    if (!self) return NULL;
    self->loop = loop;
    self->log_root = strdup (cfg->log_root);
    self->executor = strdup (cfg->executor);
    self->grace_ms = cfg->grace_ms > 0 ? cfg->grace_ms : 1;
    self->log_cap = cfg->log_cap ? cfg->log_cap : ZF_TASK_LOG_CAP;
    self->started = started;
    self->done = done;
    self->arg = arg;
    self->guard_fd = -1;
    self->lease_ms = cfg->lease_ms > 0 ? cfg->lease_ms : 0;
    self->lease_timer = -1;
    self->keeper = s_keeper_path ();
    if (!self->log_root || !self->executor || !self->keeper ||
        (self->guard_pid = zf_guard_start (&self->guard_fd)) < 0) {
        self->guard_pid = 0;
        zf_runner_destroy (&self);
        return NULL;
    }
    //  Four renewals a lease: a loop a little late still renews in time.
    if (self->lease_ms > 0) {
        self->lease_timer = zloop_timer (
            loop, (size_t)(self->lease_ms >= 4 ? self->lease_ms / 4 : 1), 0, s_on_lease, self);
        if (self->lease_timer < 0) {
            zf_runner_destroy (&self);
            return NULL;
        }
    }
    return self;
}

//  Takes a run's readers and timers out of the loop and closes its descriptors.
static void
s_run_detach (s_run_t *run)
{
    zloop_t *loop = run->runner->loop;
    if (run->out_fd >= 0) {
        zmq_pollitem_t item = {NULL, run->out_fd, ZMQ_POLLIN, 0};
        zloop_poller_end (loop, &item);
        close (run->out_fd);
        run->out_fd = -1;
    }
    if (run->pidfd >= 0) {
        zmq_pollitem_t item = {NULL, run->pidfd, ZMQ_POLLIN, 0};
        zloop_poller_end (loop, &item);
        close (run->pidfd);
        run->pidfd = -1;
    }
    if (run->control_fd >= 0) {
        close (run->control_fd);
        run->control_fd = -1;
    }
    if (run->timeout_timer >= 0) {
        zloop_timer_end (loop, run->timeout_timer);
        run->timeout_timer = -1;
    }
    if (run->grace_timer >= 0) {
        zloop_timer_end (loop, run->grace_timer);
        run->grace_timer = -1;
    }
}

//  Frees a run that is out of the list.
static void
s_run_free (s_run_t *run)
{
    zf_logfile_close (&run->log);
    if (run->envp)
        for (char **entry = run->envp; *entry; entry++)
            free (*entry);
    free (run->envp);
    free (run->command);
    free (run->rollback);
    free (run->cwd);
    free (run->log_path);
    free (run);
}

//  Unlinks a run from the runner's list.
static void
s_run_unlink (s_run_t *run)
{
    zf_runner_t *self = run->runner;
    for (s_run_t **link = &self->runs; *link; link = &(*link)->next)
        if (*link == run) {
            *link = run->next;
            self->running--;
            return;
        }
}

//  Tells a keeper to kill everything of its job (its control socket
//  reaches end of file) without waiting for it.
static void
s_end_keeper (s_run_t *run)
{
    if (run->control_fd >= 0) close (run->control_fd);
    run->control_fd = -1;
}

//  Reaps a keeper, which must have been started. Returns its wait status,
//  which is its shell's.
static int
s_reap_keeper (s_run_t *run)
{
    int status = 0;
    while (waitpid (run->pid, &status, 0) < 0 && errno == EINTR)
        ;
    run->pid = 0;
    return status;
}

void
zf_runner_destroy (zf_runner_t **self_p)
{
    assert (self_p);
    zf_runner_t *self = *self_p;
    if (!self) return;
    if (self->lease_timer >= 0) zloop_timer_end (self->loop, self->lease_timer);
    //  Every keeper is told first, so they all clean up at once.
    for (s_run_t *run = self->runs; run; run = run->next)
        s_end_keeper (run);
    while (self->runs) {
        s_run_t *run = self->runs;
        self->runs = run->next;
        if (run->pid > 0) s_reap_keeper (run);
        s_run_detach (run);
        s_run_free (run);
    }
    if (self->guard_fd >= 0) close (self->guard_fd);
    if (self->guard_pid > 0)
        while (waitpid (self->guard_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    free (self->log_root);
    free (self->executor);
    free (self->keeper);
    free (self);
    *self_p = NULL;
}

bool
zf_runner_safe_name (const char *name)
{
    if (!name || !*name || *name == '.') return false;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p <= ' ' || *p > '~') return false;
    return true;
}

//  ---------------------------------------------------------------------------
//  Starting a process

static int s_on_output (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int s_on_exit (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  Words of a plain command that runs without a shell, at most this many.
#define S_DIRECT_WORDS ZF_KEEPER_WORDS

//  Splits command into argv in place if the shell would only split it into
//  words and run the first as a path: no quoting, expansion, redirection,
//  operator, comment or assignment, and a first word with a slash (so it
//  cannot be a builtin or need a PATH search). That is what /bin/sh -c would
//  do, one fork and exec cheaper, as make does for its recipes. Returns true
//  if argv was filled (NULL-terminated); text is then cut into the words.
static bool
s_direct_argv (char *text, char **argv)
{
    if (strpbrk (text, "|&;<>()$`\\\"'*?[]#~{}!\n\r")) return false;
    size_t count = 0;
    for (char *word = strtok (text, " \t"); word; word = strtok (NULL, " \t")) {
        if (count == S_DIRECT_WORDS) return false;
        argv[count++] = word;
    }
    argv[count] = NULL;
    return count > 0 && strchr (argv[0], '/') && !strchr (argv[0], '=');
}

//  Forks the shell for command and watches it. Returns 0, or -1 with the
//  reason in err.
static int
s_spawn (s_run_t *run, const char *command, char *err, size_t err_size)
{
    zf_runner_t *self = run->runner;
    char *words = strdup (command);
    char *direct[S_DIRECT_WORDS + 1];
    if (!words) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    bool plain = s_direct_argv (words, direct);
    int pipe_fds[2];
    if (pipe2 (pipe_fds, O_CLOEXEC) != 0) {
        snprintf (err, err_size, "cannot make a pipe: %s", strerror (errno));
        free (words);
        return -1;
    }
    int in_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    int control[2] = {-1, -1};
    if (in_fd < 0 || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) != 0) {
        snprintf (err, err_size, "cannot open /dev/null or a socket: %s", strerror (errno));
        if (in_fd >= 0) close (in_fd);
        close (pipe_fds[0]);
        close (pipe_fds[1]);
        free (words);
        return -1;
    }
    zf_keeper_args_t args = {
        .program = self->keeper,
        .command = command,
        .direct = plain ? direct : NULL,
        .envp = run->envp,
        .cwd = run->cwd,
        .in_fd = in_fd,
        .out_fd = pipe_fds[1],
        .control_fd = control[1],
        .guard_fd = self->guard_fd,
        .lease_ms = (int)self->lease_ms,
    };
    pid_t pid = zf_keeper_start (&args);
    int fork_errno = errno;
    free (words);
    close (pipe_fds[1]);
    close (in_fd);
    close (control[1]);
    if (pid < 0) {
        close (pipe_fds[0]);
        close (control[0]);
        snprintf (err, err_size, "cannot start a process: %s", strerror (fork_errno));
        return -1;
    }
    run->pid = pid;
    run->control_fd = control[0];
    run->out_fd = pipe_fds[0];
    fcntl (run->out_fd, F_SETFL, fcntl (run->out_fd, F_GETFL) | O_NONBLOCK);
    run->pidfd = pidfd_open (pid, 0);
    zmq_pollitem_t out_item = {NULL, run->out_fd, ZMQ_POLLIN, 0};
    zmq_pollitem_t pid_item = {NULL, run->pidfd, ZMQ_POLLIN, 0};
    if (run->pidfd < 0 || zloop_poller (self->loop, &out_item, s_on_output, run) != 0 ||
        zloop_poller (self->loop, &pid_item, s_on_exit, run) != 0) {
        snprintf (err, err_size, "cannot watch the process: %s", strerror (errno));
        s_end_keeper (run);
        s_reap_keeper (run);
        s_run_detach (run);
        return -1;
    }
    //  A pipe that hangs up (the job closed its output) must not make the
    //  loop drop the reader before the end is read.
    zloop_poller_set_tolerant (self->loop, &out_item);
    zloop_poller_set_tolerant (self->loop, &pid_item);
    return 0;
}

//  Adds output to the log; a failure is said once per job (the tail still
//  gets the output, and the result carries the tail).
static void
s_log (s_run_t *run, const char *data, size_t size)
{
    if (zf_logfile_write (run->log, data, size) == 0 || run->log_failed) return;
    run->log_failed = true;
    zf_log_warn ("log not written path=%s reason=\"%s\"", run->log_path, strerror (errno));
}

//  Reads what output is there into the log and the tail.
static void
s_drain (s_run_t *run)
{
    char buf[S_READ_CHUNK];
    for (int turn = 0; turn < S_READS_PER_TURN && run->out_fd >= 0; turn++) {
        ssize_t rc = read (run->out_fd, buf, sizeof buf);
        if (rc > 0) {
            s_log (run, buf, (size_t)rc);
            zf_tail_add (&run->tail, buf, (size_t)rc);
            continue;
        }
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        //  End of output (every writer closed it) or a read error.
        zmq_pollitem_t item = {NULL, run->out_fd, ZMQ_POLLIN, 0};
        zloop_poller_end (run->runner->loop, &item);
        close (run->out_fd);
        run->out_fd = -1;
    }
}

static int
s_on_output (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_drain ((s_run_t *)arg);
    return 0;
}

//  Now, wall clock, ms.
static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  A note from zflow into the job's output.
static void
s_note (s_run_t *run, const char *text)
{
    s_log (run, text, strlen (text));
    zf_tail_add (&run->tail, text, strlen (text));
}

//  Reports a job and forgets it. Returns what the callback returned.
static int
s_finish (s_run_t *run, int status, int32_t exit_status)
{
    zf_runner_t *self = run->runner;
    s_run_detach (run);
    s_run_unlink (run);
    zf_logfile_close (&run->log);
    char tail[ZF_LOG_TAIL + 1];
    zf_tail_text (&run->tail, tail, sizeof tail);
    zf_run_result_t result = {
        .job_id = run->job_id,
        .status = status,
        .exit_status = exit_status,
        .started = run->started,
        .ended = s_now_ms (),
        .log_tail = tail,
        .log_path = run->log_path,
    };
    int rc = self->done (self->arg, &result);
    s_run_free (run);
    return rc;
}

//  The keeper exited, after its shell and everything the shell started:
//  the output is read to the end, and the job goes on to its command or
//  ends.
static int
s_on_exit (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_run_t *run = arg;
    int status = s_reap_keeper (run);
    s_end_keeper (run);
    zmq_pollitem_t pid_item = {NULL, run->pidfd, ZMQ_POLLIN, 0};
    zloop_poller_end (loop, &pid_item);
    close (run->pidfd);
    run->pidfd = -1;
    while (run->out_fd >= 0) {
        int before = run->out_fd;
        uint64_t seen = run->tail.total;
        s_drain (run);
        //  Nothing more to read now: only a process that escaped a killed
        //  keeper can still hold the pipe, and it is not waited for.
        if (run->out_fd == before && run->tail.total == seen) break;
    }
    if (run->out_fd >= 0) {
        zmq_pollitem_t out_item = {NULL, run->out_fd, ZMQ_POLLIN, 0};
        zloop_poller_end (loop, &out_item);
        close (run->out_fd);
        run->out_fd = -1;
    }
    int32_t exit_status = WIFEXITED (status)     ? WEXITSTATUS (status)
                          : WIFSIGNALED (status) ? -WTERMSIG (status)
                                                 : -1;
    if (run->in_rollback && !run->kill_status) {
        if (exit_status != 0) {
            s_note (run, "[zflow: the rollback command failed; the task does not run]\n");
            return s_finish (run, ZF_JOB_FAILED, exit_status);
        }
        s_note (run, "[zflow: rollback done; running the task]\n");
        run->in_rollback = false;
        char err[160];
        if (s_spawn (run, run->command, err, sizeof err) != 0) {
            s_note (run, err);
            return s_finish (run, ZF_JOB_FAILED, -1);
        }
        return 0;
    }
    int result = run->kill_status   ? run->kill_status
                 : exit_status == 0 ? ZF_JOB_SUCCEEDED
                                    : ZF_JOB_FAILED;
    return s_finish (run, result, exit_status);
}

//  The grace period after SIGTERM is over.
static int
s_on_grace (zloop_t *loop, int timer_id, void *arg)
{
    s_run_t *run = arg;
    run->grace_timer = -1;
    if (run->control_fd >= 0) zf_keeper_request (run->control_fd, 'K');
    return 0;
}

//  Asks a job to stop through its keeper: SIGTERM to all its processes
//  now, SIGKILL after the grace period. The runner never signals the keeper
//  itself, so the keeper always outlives the processes it must clean up.
static void
s_stop (s_run_t *run, int why)
{
    if (run->kill_status) return;
    run->kill_status = why;
    if (run->control_fd >= 0) zf_keeper_request (run->control_fd, 'T');
    run->grace_timer =
        zloop_timer (run->runner->loop, (size_t)run->runner->grace_ms, 1, s_on_grace, run);
}

static int
s_on_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_run_t *run = arg;
    run->timeout_timer = -1;
    s_note (run, "\n[zflow: timed out]\n");
    s_stop (run, ZF_JOB_TIMED_OUT);
    return 0;
}

//  True if a KEY=VALUE entry has the key of the other entry (up to '=').
static bool
s_same_key (const char *entry, const char *other)
{
    while (*entry && *entry != '=' && *entry == *other) {
        entry++;
        other++;
    }
    return *entry == '=' && *other == '=';
}

//  Appends a formatted entry; false if out of memory.
static bool
s_env_add (char **envp, size_t *count, const char *key, const char *value)
{
    size_t size = strlen (key) + strlen (value) + 2;
    char *entry = malloc (size);
    if (!entry) return false;
    snprintf (entry, size, "%s=%s", key, value);
    envp[(*count)++] = entry;
    return true;
}

//  The job's environment: zflow's entries, then the job's own, then the
//  executor's, each key once, the first one winning.
static char **
s_environment (zf_runner_t *self, const zf_job_t *job)
{
    extern char **environ;
    size_t inherited = 0;
    while (environ[inherited])
        inherited++;
    char **envp = calloc (8 + job->env_count + inherited + 1, sizeof (char *));
    if (!envp) return NULL;
    size_t count = 0;
    char date[ZF_DATE_TEXT], attempt[16], index[16], shards[16];
    zf_date_format (job->key.date, date, sizeof date);
    snprintf (attempt, sizeof attempt, "%u", job->key.attempt);
    snprintf (index, sizeof index, "%d", job->key.shard >= 0 ? job->key.shard : 0);
    snprintf (shards, sizeof shards, "%u", job->shard_count ? job->shard_count : 1);
    bool ok = s_env_add (envp, &count, "ZFLOW_FLOW", job->key.flow) &&
              s_env_add (envp, &count, "ZFLOW_DATE", date) &&
              s_env_add (envp, &count, "ZFLOW_TASK", job->key.task) &&
              s_env_add (envp, &count, "ZFLOW_ATTEMPT", attempt) &&
              s_env_add (envp, &count, "ZFLOW_SHARD_INDEX", index) &&
              s_env_add (envp, &count, "ZFLOW_SHARD_COUNT", shards) &&
              s_env_add (envp, &count, "ZFLOW_SHARD_KEY", job->shard_key ? job->shard_key : "") &&
              s_env_add (envp, &count, "ZFLOW_EXECUTOR", self->executor);
    for (size_t i = 0; ok && i < job->env_count; i++) {
        bool taken = false;
        for (size_t k = 0; k < count && !taken; k++)
            taken = s_same_key (job->env[i], envp[k]);
        if (!taken && !(envp[count] = strdup (job->env[i])))
            ok = false;
        else if (!taken)
            count++;
    }
    for (size_t i = 0; ok && i < inherited; i++) {
        bool taken = !strchr (environ[i], '=');
        for (size_t k = 0; k < count && !taken; k++)
            taken = s_same_key (environ[i], envp[k]);
        if (!taken && !(envp[count] = strdup (environ[i])))
            ok = false;
        else if (!taken)
            count++;
    }
    if (!ok) {
        for (size_t i = 0; i < count; i++)
            free (envp[i]);
        free (envp);
        return NULL;
    }
    return envp;
}

int
zf_runner_start (zf_runner_t *self, const zf_job_t *job, char *err, size_t err_size)
{
    assert (self && job && err);
    if (!job->command || !*job->command) {
        snprintf (err, err_size, "no command to run");
        return -1;
    }
    if (!zf_runner_safe_name (job->key.flow) || !zf_runner_safe_name (job->key.task)) {
        snprintf (err, err_size, "flow or task name unfit for a log path");
        return -1;
    }
    s_run_t *run = calloc (1, sizeof (s_run_t));
    if (!run) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    run->runner = self;
    run->job_id = job->job_id;
    run->out_fd = run->pidfd = run->control_fd = run->timeout_timer = run->grace_timer = -1;
    run->command = strdup (job->command);
    run->rollback = job->rollback ? strdup (job->rollback) : NULL;
    run->cwd = job->cwd ? strdup (job->cwd) : NULL;
    run->envp = s_environment (self, job);
    char path[PATH_MAX];
    int len = zf_task_key_log_path (&job->key, self->log_root, job->copy, path, sizeof path);
    if (!run->command || (job->rollback && !run->rollback) || (job->cwd && !run->cwd) ||
        !run->envp || len < 0 || !(run->log_path = strdup (path))) {
        snprintf (err, err_size, "out of memory");
        s_run_free (run);
        return -1;
    }
    //  The log file itself is made with the first output.
    run->log = zf_logfile_open (path, self->log_cap);
    if (!run->log) {
        snprintf (err, err_size, "out of memory");
        s_run_free (run);
        return -1;
    }
    run->started = s_now_ms ();
    run->in_rollback = run->rollback != NULL;
    if (run->in_rollback) s_note (run, "[zflow: running the rollback command first]\n");
    if (s_spawn (run, run->in_rollback ? run->rollback : run->command, err, err_size) != 0) {
        s_run_free (run);
        return -1;
    }
    if (job->timeout_ms > 0)
        run->timeout_timer =
            zloop_timer (self->loop, (size_t)job->timeout_ms, 1, s_on_timeout, run);
    run->next = self->runs;
    self->runs = run;
    self->running++;
    if (self->started) self->started (self->arg, run->job_id);
    return 0;
}

int
zf_runner_cancel (zf_runner_t *self, uint64_t job_id)
{
    assert (self);
    for (s_run_t *run = self->runs; run; run = run->next)
        if (run->job_id == job_id) {
            if (!run->kill_status) s_note (run, "\n[zflow: cancelled]\n");
            s_stop (run, ZF_JOB_CANCELLED);
            return 0;
        }
    return -1;
}

size_t
zf_runner_running (zf_runner_t *self)
{
    assert (self);
    return self->running;
}

pid_t
zf_runner_guard_pid (zf_runner_t *self)
{
    assert (self);
    return self->guard_pid;
}
