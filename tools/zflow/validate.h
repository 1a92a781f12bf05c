/*  validate.h - `zflow validate FILE`: checks a flow file without a registry. */
#ifndef ZF_VALIDATE_H_INCLUDED
#define ZF_VALIDATE_H_INCLUDED

//  argv[0] is the verb. Prints a one-line summary and returns 0 for a valid
//  flow; prints every error and returns 1 for an invalid one; 2 on bad usage.
int zf_cmd_validate (int argc, char **argv);

#endif
