/*  settle.c - zflow-settle, an example worker program with an in-process handler.

    It offers the service "settle": each shard of a `service: settle` task
    sums the amounts of that shard's accounts. The records of a shard are
    generated (standing in for loading them from a database), which is the
    slow part, so they are kept in the executor's cache under the shard key:
    the dispatcher sends the same key to the same executor on the next task
    and the next business date, and the records are found there. The flow:

        - id: settle
          after: [accrue]
          shards: [bonds, fx, equities]
          service: settle

    The number of records per shard comes from SETTLE_RECORDS in the
    order's environment (default 200000). Its options are those of its
    table in libs/service (zf_settle_def), from which `zflow demo` builds
    the command line it starts it with.
*/
#include "zf_log.h"
#include "zf_service.h"
#include "zf_time.h"
#include "zf_worker.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Records checked between looks at the cancel flag.
#define S_CHECK_EVERY 65536

//  The records of one shard.
typedef struct {
    size_t count;     //  entries in amounts
    int64_t *amounts; //  amounts in cents
} s_records_t;

static void
s_records_free (void *item)
{
    s_records_t *records = item;
    if (records) {
        free (records->amounts);
        free (records);
    }
}

//  Makes count pseudo-random amounts from the key (the same key always
//  gives the same amounts). NULL if cancelled or out of memory.
static s_records_t *
s_generate (zf_task_t *task, const char *key, size_t count)
{
    s_records_t *records = calloc (1, sizeof (s_records_t));
    if (!records) return NULL;
    records->amounts = malloc (count * sizeof (int64_t));
    if (!records->amounts) {
        free (records);
        return NULL;
    }
    uint64_t state = 0xcbf29ce484222325ULL;
    for (const char *p = key; *p; p++)
        state = (state ^ (uint8_t)*p) * 0x100000001b3ULL;
    for (size_t i = 0; i < count; i++) {
        if (i % S_CHECK_EVERY == 0 && zf_task_cancelled (task)) {
            s_records_free (records);
            return NULL;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        records->amounts[i] = (int64_t)(state % 2000001) - 1000000;
    }
    records->count = count;
    return records;
}

//  The settle handler: one shard's sum, with its records from the cache.
static int
s_settle (zf_task_t *task, void *arg)
{
    char key[64];
    if (zf_task_shard_key (task))
        snprintf (key, sizeof key, "%s", zf_task_shard_key (task));
    else
        snprintf (key, sizeof key, "shard-%u", zf_task_shard_index (task));
    const char *wanted = zf_task_env (task, "SETTLE_RECORDS");
    size_t count = wanted ? (size_t)strtoull (wanted, NULL, 10) : 200000;
    if (count == 0 || count > 100000000) {
        zf_task_log (task, "SETTLE_RECORDS must be 1 to 100000000");
        return 2;
    }
    zf_cache_t *cache = zf_task_cache (task);
    s_records_t *records = zf_cache_acquire (cache, key);
    bool cached = records != NULL;
    if (!records) {
        records = s_generate (task, key, count);
        if (!records) {
            zf_task_log (task, "%s: stopped before the records were made", key);
            return 1;
        }
        records = zf_cache_insert (cache, key, records, count * sizeof (int64_t), s_records_free);
        if (!records) {
            zf_task_log (task, "%s: out of memory", key);
            return 1;
        }
    }
    int64_t total = 0;
    for (size_t i = 0; i < records->count; i++) {
        if (i % S_CHECK_EVERY == 0 && zf_task_cancelled (task)) {
            zf_cache_release (cache, key);
            zf_task_log (task, "%s: cancelled", key);
            return 1;
        }
        total += records->amounts[i];
    }
    char date[ZF_DATE_TEXT];
    zf_date_format (zf_task_date (task), date, sizeof date);
    zf_task_log (task, "settled %s on %s: %zu records, total %" PRId64 " cents (%s records)", key,
                 date, records->count, total, cached ? "cached" : "new");
    zf_cache_release (cache, key);
    return 0;
}

int
main (int argc, char **argv)
{
    zf_worker_config_t cfg;
    zf_worker_config_defaults (&cfg);
    int verbose = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_settle_def, false);
    int opt;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_DISPATCHER:
            cfg.endpoint = optarg;
            break;
        case ZF_OPT_NAME:
            cfg.name = optarg;
            break;
        case ZF_OPT_SLOTS:
            cfg.slots = (uint32_t)strtoul (optarg, NULL, 10);
            if (cfg.slots == 0 || cfg.slots > 4096) {
                fprintf (stderr, "zflow-settle: --slots takes 1 to 4096\n");
                return 2;
            }
            break;
        case ZF_OPT_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.heartbeat_ms) != 0 || cfg.heartbeat_ms <= 0) {
                fprintf (stderr, "zflow-settle: --heartbeat takes a duration (1s)\n");
                return 2;
            }
            break;
        case ZF_OPT_LIVENESS:
            cfg.liveness = (uint32_t)strtoul (optarg, NULL, 10);
            if (cfg.liveness == 0 || cfg.liveness > 1000) {
                fprintf (stderr, "zflow-settle: --liveness takes 1 to 1000\n");
                return 2;
            }
            break;
        case ZF_OPT_VERBOSE:
            verbose++;
            break;
        case ZF_OPT_HELP:
            zf_service_usage (&zf_settle_def, stdout);
            return 0;
        default:
            return zf_service_bad_usage (&zf_settle_def, NULL);
        }
    }
    char name[64];
    if (!cfg.name) {
        snprintf (name, sizeof name, "settle-%d", (int)getpid ());
        cfg.name = name;
    }
    zf_log_init ("settle", verbose);
    zsys_init ();
    zf_worker_t *worker = zf_worker_new (&cfg);
    if (!worker || zf_worker_register (worker, "settle", s_settle, NULL) != 0) {
        fprintf (stderr, "zflow-settle: cannot start\n");
        zf_worker_destroy (&worker);
        return 1;
    }
    zactor_t *actor = zactor_new (zf_worker_actor, worker);
    //  Waits until SIGINT or SIGTERM (or the worker ends on its own).
    zpoller_t *poller = zpoller_new (actor, NULL);
    zpoller_wait (poller, -1);
    zpoller_destroy (&poller);
    zactor_destroy (&actor);
    zf_worker_destroy (&worker);
    return 0;
}
