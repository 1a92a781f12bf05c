/*  start.h - `zflow start FLOW [--date D]`: open a business date of a flow. */
#ifndef ZF_START_H_INCLUDED
#define ZF_START_H_INCLUDED

//  argv[0] is the verb. Returns the exit status.
int zf_cmd_start (int argc, char **argv);

#endif
