/*  shell.h - the "shell" engine: a zf_worker engine over the process runner. */
#ifndef ZF_SHELL_H_INCLUDED
#define ZF_SHELL_H_INCLUDED

#include "runner.h"
#include "zf_worker.h"

typedef struct _zf_shell_t zf_shell_t;

//  An engine that will run jobs with these settings (copied on open).
zf_shell_t *zf_shell_new (const zf_runner_config_t *cfg);

//  Destroys it (closed first); idempotent.
void zf_shell_destroy (zf_shell_t **self_p);

//  The engine's functions, to register with zf_worker_register_engine and
//  the zf_shell_t as its argument.
extern const zf_worker_engine_t zf_shell_engine;

#endif
