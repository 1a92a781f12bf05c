/*  zf_proc.h - zflow's programs as child processes, and free ports for them.

    Programs come from ZF_BIN_DIR (the build's bin folder; the tests get it
    from CTest, the benchmarks from zf_proc_bin_dir_default). Every child
    gets PR_SET_PDEATHSIG, so a test or a benchmark that crashes leaves
    nothing running, and zf_proc_stop ends one with SIGTERM, then SIGKILL
    after a grace period.
*/
#ifndef ZF_PROC_H_INCLUDED
#define ZF_PROC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

//  A TCP port on 127.0.0.1 that is free now.
int zf_proc_free_port (void);

//  Starts argv[0] (a file in ZF_BIN_DIR) with argv (NULL-ended). Returns
//  its pid, or -1.
pid_t zf_proc_spawn_argv (char *const *argv);

//  Starts program (a file in ZF_BIN_DIR) with its arguments, ending with
//  NULL. Returns its pid, or -1.
pid_t zf_proc_spawn (const char *program, ...) __attribute__ ((sentinel));

//  As zf_proc_spawn_argv, with the child's stderr on a pipe whose read end
//  goes in *fd (the caller closes it). The pipe is large and never blocks
//  the child: a full pipe drops its log lines rather than stopping it.
pid_t zf_proc_spawn_piped (char *const *argv, int *fd);

//  Reads fd (a child's stderr from zf_proc_spawn_piped) into text, after
//  what it holds (size bytes, kept NUL-terminated), until it holds needle,
//  fd ends or timeout_ms pass. True if it holds needle (NULL: reads to the
//  end or the deadline, and is false).
bool zf_proc_read_until (int fd, const char *needle, char *text, size_t size, int timeout_ms);

//  Stops a child: SIGTERM, SIGKILL after grace_ms, reaped. Returns its wait status.
int zf_proc_stop (pid_t pid, int grace_ms);

//  True once a process no longer runs (gone, or a zombie).
bool zf_proc_gone (pid_t pid);

//  Waits up to timeout_ms for a process to end; reaps it if it is ours.
//  True if it ended.
bool zf_proc_await_gone (pid_t pid, int timeout_ms);

//  Waits up to timeout_ms for a child to end and reaps it. Returns its wait
//  status, or -1 if it did not end (it is left running).
int zf_proc_await_exit (pid_t pid, int timeout_ms);

//  Makes this process the subreaper of everything it starts, so orphans
//  come back to it.
void zf_proc_subreaper (void);

//  Reaps every child that has ended.
void zf_proc_reap (void);

//  Unless ZF_BIN_DIR says otherwise, programs come from the folder of the
//  running program (the benchmarks live beside the services they start).
void zf_proc_bin_dir_default (void);

#endif
