/*  zf_options.h - every service's command line, one table per program.

    A service's main() builds its getopt_long options and its usage text
    from its table (zf_service.h), and whatever starts a service as a
    process (`zflow up`, the stacks of the tests and the benchmarks) builds
    its command line from the same table, option by option (zf_cmdline.h).
    A flag renamed in a table is renamed for all of them at once, and a
    command line that names an option the program does not take cannot be
    built.
*/
#ifndef ZF_OPTIONS_H_INCLUDED
#define ZF_OPTIONS_H_INCLUDED

//  Every option of every program, by meaning. What getopt_long returns for
//  it: its letter for an option that has one, a number above 255 otherwise.
typedef enum {
    ZF_OPT_HELP = 'h',
    ZF_OPT_VERBOSE = 'v',
    ZF_OPT_BIND = 256,
    ZF_OPT_EVENTS,
    ZF_OPT_DISPATCHER,
    ZF_OPT_DISPATCHER_EVENTS,
    ZF_OPT_REGISTRY,
    ZF_OPT_ARCHIVER,
    ZF_OPT_KEEP_RUNS,
    ZF_OPT_DIR,
    ZF_OPT_LOG_DIR,
    ZF_OPT_NAME,
    ZF_OPT_HEARTBEAT,
    ZF_OPT_LIVENESS,
    ZF_OPT_NO_WORKER_WAIT,
    ZF_OPT_PREFETCH,
    ZF_OPT_POOL,
    ZF_OPT_STRAGGLER_FACTOR,
    ZF_OPT_STRAGGLER_MIN,
    ZF_OPT_LOCALITY_WAIT,
    ZF_OPT_BACKLOG,
    ZF_OPT_REPEAT_HOLD,
    ZF_OPT_SLOTS,
    ZF_OPT_GRACE,
    ZF_OPT_STORE,
    ZF_OPT_BATCH,
    ZF_OPT_BATCH_WAIT,
    ZF_OPT_RETENTION,
    ZF_OPT_SNAPSHOT_EVERY,
    ZF_OPT_HTTP,
    ZF_OPT_WEB,
    ZF_OPT_TOKEN,
    ZF_OPT_TOKEN_FILE,
    ZF_OPT_READ_ONLY,
    ZF_OPT_ORIGIN,
    ZF_OPT_MAX_CLIENTS,
    ZF_OPT_MAX_LAG,
    ZF_OPT_PAIR,
    ZF_OPT_PEER_BIND,
    ZF_OPT_PEER,
    ZF_OPT_PEER_REGISTRY,
    ZF_OPT_PEER_HEARTBEAT,
    ZF_OPT_REPLICA,
    ZF_OPT_SERVE
} zf_opt_t;

//  One option of a program.
typedef struct {
    zf_opt_t id;       //  what it means, and what getopt_long returns for it
    const char *name;  //  its long name, without the dashes
    const char *value; //  its value's name in the usage text, NULL if it takes none
    const char *help;  //  its text in the usage; each "\n" starts an indented line
} zf_option_t;

//  The command line of one program.
typedef struct {
    const char *name;           //  "registry": the program is zflow-registry
    const char *synopsis;       //  the usage line after the program's name, NULL for
                                //  "[options]" (the options then follow every usage error)
    const char *about;          //  a paragraph between the usage line and the options, or NULL
    int column;                 //  where the options' texts start in the usage
    const zf_option_t *options; //  in the usage's order, ended by one with a NULL name
} zf_service_def_t;

//  The programs.
extern const zf_service_def_t zf_registry_def;
extern const zf_service_def_t zf_dispatcher_def;
extern const zf_service_def_t zf_executor_def;
extern const zf_service_def_t zf_archiver_def;
extern const zf_service_def_t zf_gateway_def;
extern const zf_service_def_t zf_settle_def;

//  Options of one program, at most.
#define ZF_SERVICE_MAX_OPTIONS 32

//  The option of def with this id, or NULL if the program has none.
const zf_option_t *zf_service_option (const zf_service_def_t *def, zf_opt_t id);

#endif
