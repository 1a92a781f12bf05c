/*  wait.h - `zflow wait FLOW [--date D] [--timeout DUR]`: block until a run ends. */
#ifndef ZF_WAIT_H_INCLUDED
#define ZF_WAIT_H_INCLUDED

//  argv[0] is the verb. Returns 0 when the run succeeded, 1 when it failed or
//  was cancelled, the wait timed out or the flow is unknown, 2 on bad usage.
int zf_cmd_wait (int argc, char **argv);

#endif
