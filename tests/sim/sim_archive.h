/*  sim_archive.h - the archive behind the simulated registry (sim_registry.h).

    When the real registry archives a run, the run's tasks leave its engine
    and a STATUS of that run is answered from the archiver's store. The
    simulation keeps the STATUS of each run it archives here instead, as the
    run was when it went, and answers from it. Also here: the STATUS of a
    run read from an engine, which the simulation sends for runs not
    archived and which the archive keeps for those that are.

    Not thread-safe: the simulated registry's actor owns its archive.
*/
#ifndef SIM_ARCHIVE_H_INCLUDED
#define SIM_ARCHIVE_H_INCLUDED

#include "zf_engine.h"
#include "zf_proto.h"

typedef struct _sim_archive_t sim_archive_t;

//  The STATUS of the run info describes, tasks included, as engine holds it.
//  Its strings are the engine's (valid until the engine changes); its tasks
//  (run.task_count entries) are stored at *tasks_p, the caller's to free.
zf_run_status_t sim_archive_status_of (zf_engine_t *engine, const zf_engine_run_info_t *info,
                                       zf_task_status_t **tasks_p);

//  An empty archive.
sim_archive_t *sim_archive_new (void);

//  Destroys the archive and everything it kept; idempotent.
void sim_archive_destroy (sim_archive_t **self_p);

//  Keeps a STATUS of every run of engine that succeeded and is not archived
//  yet: the runs zf_engine_archive may take next. Call it just before.
void sim_archive_keep (sim_archive_t *self, zf_engine_t *engine);

//  Drops the runs kept that engine holds as not archived (those that
//  zf_engine_archive left in place).
void sim_archive_prune (sim_archive_t *self, zf_engine_t *engine);

//  The STATUS kept of the run of flow on date, or NULL.
const zf_run_status_t *sim_archive_lookup (sim_archive_t *self, const char *flow, zf_date_t date);

#endif
