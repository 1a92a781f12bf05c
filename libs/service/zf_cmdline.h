/*  zf_cmdline.h - the command line of a program, built from its table.

    Whatever starts a service as a process (`zflow up`, the stacks of the
    tests and the benchmarks) names its options by meaning (zf_opt_t); the
    program's table (zf_options.h) gives their spelling. Naming an option
    the program does not take, a value it does not expect or a missing one
    breaks the command line: it then has no argv, and says why, so a
    series of additions is checked once, at the end.
*/
#ifndef ZF_CMDLINE_H_INCLUDED
#define ZF_CMDLINE_H_INCLUDED

#include <stddef.h>
#include "zf_options.h"

typedef struct _zf_cmdline_t zf_cmdline_t;

//  Arguments of one command line, program included, at most.
#define ZF_CMDLINE_MAX_ARGS 64

//  A command line of def's program with no options yet. NULL if out of memory.
zf_cmdline_t *zf_cmdline_new (const zf_service_def_t *def);

void zf_cmdline_destroy (zf_cmdline_t **self_p);

//  Adds option with its value (NULL for an option that takes none; copied).
//  If the program has no such option, value is given to an option without
//  one or missing for an option with one, or there is no room or memory,
//  the command line is broken instead (zf_cmdline_argv says).
void zf_cmdline_add (zf_cmdline_t *self, zf_opt_t option, const char *value);

//  Adds -v count times, as one argument ("-vv"); nothing for 0. Breaks the
//  command line as above if the program has no -v.
void zf_cmdline_verbose (zf_cmdline_t *self, int count);

//  The program's table.
const zf_service_def_t *zf_cmdline_def (zf_cmdline_t *self);

//  The program's file name, "zflow-registry".
const char *zf_cmdline_program (zf_cmdline_t *self);

//  The arguments, the program's file name first, NULL-ended (held by the
//  command line); NULL if it is broken.
char *const *zf_cmdline_argv (zf_cmdline_t *self);

//  Why it is broken, or "".
const char *zf_cmdline_error (zf_cmdline_t *self);

//  Reads argv (the program first, NULL-ended) as def's program would, with
//  getopt_long and def's options. Returns 0, or -1 with the reason in why
//  (size bytes): an option def does not have, a value missing, an argument
//  that is not an option. Resets getopt's state before and after.
int zf_cmdline_check (const zf_service_def_t *def, char *const *argv, char *why, size_t size);

#endif
