/*  logs.h - `zflow logs FLOW TASK [--date D] [--shard K] [--attempt N]`. */
#ifndef ZF_LOGS_H_INCLUDED
#define ZF_LOGS_H_INCLUDED

//  argv[0] is the verb. Returns the exit status.
int zf_cmd_logs (int argc, char **argv);

#endif
