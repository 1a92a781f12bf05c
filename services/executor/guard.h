/*  guard.h - a small process that kills registered process groups once
    every writer of its pipe is gone.

    The runner starts it once. The executor and every keeper hold the write
    end of its pipe; each task shell registers its process group ('+')
    before it execs, and its keeper forgets it ('-') once the group is dead.
    When the executor and all keepers have ended, however they ended, the
    pipe reaches end of file and the guard kills every group still
    registered: the groups of keepers that were themselves killed outright.
*/
#ifndef ZF_GUARD_H_INCLUDED
#define ZF_GUARD_H_INCLUDED

#include <sys/types.h>

//  Forks the guard. Returns its pid with the write end of its pipe
//  (close-on-exec) in *fd, or -1.
pid_t zf_guard_start (int *fd);

//  Registers ('+') or forgets ('-') a process group. Async-signal-safe:
//  keepers and shells call it between fork and exec. Returns 0 or -1.
int zf_guard_note (int fd, int op, pid_t pgid);

#endif
