/*  zf_flow.h - a flow file, parsed and checked.

    A zf_flow_t is the immutable definition of one flow version: its calendar,
    defaults and tasks, with dependencies resolved to task indices. It is built
    only by zf_flow_parse(), which reports every error it finds as
    "file:line:col: message", and is never modified afterwards, so a run can
    keep a pointer to the version it opened with.
*/
#ifndef ZF_FLOW_H_INCLUDED
#define ZF_FLOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_time.h"

//  Lists and mappings nest at most this deep in a flow file (the format needs
//  four levels: the flow, tasks, a task, its after list); deeper input is
//  refused as soon as it is read.
#define ZF_FLOW_MAX_DEPTH 16

//  What the calendar functions return when no business date exists in the
//  range they search. It sorts before every real date, so a dependency that
//  reaches back past the calendar's first date reads as "before the first run".
#define ZF_FLOW_NO_DATE INT32_MIN

//  The calendar covers 1970-01-01 (0) to 9999-12-31, the dates zf_date_parse reads.
#define ZF_FLOW_LAST_DATE 2932896

typedef enum {
    ZF_TASK_RUN = 0,     //  run: a shell command
    ZF_TASK_SERVICE = 1, //  service: a worker's named handler
    ZF_TASK_START = 2,   //  built-in: opens the business date
    ZF_TASK_DAY_ROLL = 3 //  built-in: closes the date, opens the next one
} zf_task_type_t;

//  One entry of after: a task of this flow, on this date or N business dates before.
typedef struct {
    uint32_t task;   //  index into zf_flow_t.tasks
    uint16_t offset; //  0 for "x", N for "x@-N"
} zf_flow_dep_t;

typedef struct {
    char *id;               //  [a-z0-9_-]+, unique in the flow
    zf_task_type_t type;    //  what runs it
    char *run;              //  ZF_TASK_RUN: command for /bin/sh -c, else NULL
    char *service;          //  ZF_TASK_SERVICE: service name, else NULL
    char *rollback;         //  command run before an interrupted attempt is rerun, or NULL
    zf_flow_dep_t *after;   //  dependencies, in file order
    uint32_t after_count;   //  entries in after
    int32_t not_before;     //  minutes after midnight in the flow's zone, or -1
    uint32_t shard_count;   //  1 when not sharded
    char **shard_keys;      //  shard_count keys, or NULL when shards: was a count
    int64_t timeout_ms;     //  per attempt; 0 = none
    uint32_t retries;       //  extra attempts after the first
    int64_t retry_delay_ms; //  wait before each retry
    bool speculative;       //  stragglers may get a second copy
    uint32_t line;          //  where the task starts in the file (1-based)
    uint32_t col;           //  and its column (1-based)
} zf_flow_task_t;

typedef struct {
    char *name;          //  flow: [a-z0-9_-]+
    char *timezone;      //  IANA zone, "UTC" by default
    uint8_t weekdays;    //  business weekdays, bit 0 = Monday; 0x7f by default
    zf_date_t *holidays; //  sorted, no duplicates
    uint32_t holiday_count;
    zf_flow_task_t *tasks; //  in file order
    uint32_t task_count;
    uint32_t *topo;                 //  task indices in a topological order of same-date deps
    char *path;                     //  the file it came from (as given), or "<input>"
    char *dir;                      //  folder of path: the working folder of run: commands
    char *text;                     //  the source text, nul-terminated
    size_t text_size;               //  bytes of text, without the nul
    int64_t default_timeout_ms;     //  defaults: timeout, or the built-in 0 (none)
    uint32_t default_retries;       //  defaults: retries, or the built-in 0
    int64_t default_retry_delay_ms; //  defaults: retry_delay, or the built-in 10s
    uint32_t *index;                //  hash of task ids: slot -> task index + 1, 0 = free
    uint32_t index_mask;            //  slots in index, minus one (a power of two)
} zf_flow_t;

//  Collected errors of one parse, each "file:line:col: message".
typedef struct {
    char **lines; //  count messages, in the order found
    uint32_t count;
    uint32_t dropped; //  errors past ZF_MAX_FLOW_ERRORS, not kept
} zf_flow_errors_t;

//  Parses a flow from text (need not be nul-terminated). path names the file in
//  messages and gives the working folder. Returns the flow, or NULL with every
//  error found appended to errors (which may be NULL to discard them).
zf_flow_t *zf_flow_parse (const char *text, size_t size, const char *path,
                          zf_flow_errors_t *errors);

//  Reads the file and parses it; a read error is reported as "path: reason".
zf_flow_t *zf_flow_load (const char *path, zf_flow_errors_t *errors);

//  Frees the flow and everything it owns; NULLs the pointer. Idempotent.
void zf_flow_destroy (zf_flow_t **self_p);

//  Index of the task with this id, or -1.
int32_t zf_flow_task_index (const zf_flow_t *self, const char *id);

//  True if date is a business date of the flow's calendar: a business weekday
//  that is not a holiday, from 1970-01-01 to ZF_FLOW_LAST_DATE.
bool zf_flow_is_business_date (const zf_flow_t *self, zf_date_t date);

//  The first business date after date, or ZF_FLOW_NO_DATE if there is none up
//  to ZF_FLOW_LAST_DATE. The search always ends: a parsed flow has at least
//  one business weekday and each holiday removes one date, so a business date
//  lies within 7 x (holiday_count + 1) days, and the search looks no further.
zf_date_t zf_flow_next_business_date (const zf_flow_t *self, zf_date_t date);

//  The business date n business dates before date (date itself when n is 0),
//  or ZF_FLOW_NO_DATE if the walk back passes 1970-01-01. Bounded like the
//  search above: at most 7 x (n + holiday_count + 1) days are looked at.
zf_date_t zf_flow_prev_business_date (const zf_flow_t *self, zf_date_t date, uint32_t n);

//  Frees the messages and resets the counts, so errors can be used again.
void zf_flow_errors_clear (zf_flow_errors_t *errors);

#endif
