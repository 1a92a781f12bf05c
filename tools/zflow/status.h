/*  status.h - `zflow status [FLOW] [--date D] [--json]`: runs and their tasks. */
#ifndef ZF_STATUS_H_INCLUDED
#define ZF_STATUS_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "zf_regapi.h"

//  Prints one run as a header line and a task table; durations of tasks
//  still running are measured up to now (ms since the epoch). Returns 0,
//  or -1 if the table found no memory (only the header is printed then).
int zf_status_print_run (const zf_run_status_t *run, int64_t now, FILE *out);

//  argv[0] is the verb. Returns the exit status.
int zf_cmd_status (int argc, char **argv);

#endif
