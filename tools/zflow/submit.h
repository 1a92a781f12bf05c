/*  submit.h - `zflow submit FILE`: a flow file to the registry, as a new version. */
#ifndef ZF_SUBMIT_H_INCLUDED
#define ZF_SUBMIT_H_INCLUDED

//  argv[0] is the verb. Returns the exit status.
int zf_cmd_submit (int argc, char **argv);

#endif
