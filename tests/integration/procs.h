/*  procs.h - the processes an integration test starts, and free ports for them.

    Programs come from the build's bin folder (ZF_BIN_DIR). Every child gets
    PR_SET_PDEATHSIG, so a test that crashes leaves nothing running, and
    zf_proc_stop ends one with SIGTERM, then SIGKILL after a grace period.
*/
#ifndef ZF_PROCS_H_INCLUDED
#define ZF_PROCS_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

//  A TCP port on 127.0.0.1 that is free now.
int zf_proc_free_port (void);

//  Starts program (a file in ZF_BIN_DIR) with its arguments, ending with
//  NULL. Returns its pid, or -1.
pid_t zf_proc_spawn (const char *program, ...) __attribute__ ((sentinel));

//  Stops a child: SIGTERM, SIGKILL after grace_ms, reaped. Returns its wait status.
int zf_proc_stop (pid_t pid, int grace_ms);

//  True once a process no longer runs (gone, or a zombie).
bool zf_proc_gone (pid_t pid);

//  Waits up to timeout_ms for a process to end; reaps it if it is ours.
//  True if it ended.
bool zf_proc_await_gone (pid_t pid, int timeout_ms);

//  Makes this process the subreaper of everything it starts, so orphans
//  come back to it.
void zf_proc_subreaper (void);

//  Reaps every child that has ended.
void zf_proc_reap (void);

//  Unless ZF_BIN_DIR says otherwise, programs come from the folder of the
//  running program (the benchmarks live beside the services they start).
void zf_proc_bin_dir_default (void);

#endif
