/*  zf_dclient.h - the client side of the dispatcher protocol, for tests and benchmarks.

    Speaks MDPC02 from a DEALER the way the registry does: HELLO with a name
    and epoch, REQUEST with DISPATCH orders, PARTIAL and FINAL results
    (acknowledged as they arrive), CANCEL, and ERROR refusals. Results are
    kept as plain copies so a test can look at all of them afterwards.
*/
#ifndef ZF_DCLIENT_H_INCLUDED
#define ZF_DCLIENT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "zf_dispatch.h"

typedef struct _zf_dclient_t zf_dclient_t;

//  A result as received.
typedef struct {
    char task[ZF_MAX_NAME + 1];     //  task id
    char executor[ZF_MAX_NAME + 1]; //  executor, or ""
    char tail[256];                 //  start of the log tail
    zf_date_t date;                 //  business date
    int32_t shard;                  //  shard index or ZF_SHARD_SOLE
    uint32_t attempt;               //  attempt
    uint8_t status;                 //  zf_job_status_t
    uint8_t copy;                   //  0 primary, 1 speculative
    int32_t exit_status;            //  exit code or -signal
    int64_t started;                //  ms since the epoch
    int64_t ended;                  //  ms since the epoch
    bool winner;                    //  the copy that counts
    bool final;                     //  came in a FINAL
} zf_dresult_t;

//  Connects to endpoint and, if name is not NULL, says HELLO at epoch.
zf_dclient_t *zf_dclient_new (const char *endpoint, const char *name, uint64_t epoch);

void zf_dclient_destroy (zf_dclient_t **self_p);

//  Sends one REQUEST for service with the orders, at epoch. Returns 0 or -1.
int zf_dclient_dispatch (zf_dclient_t *self, const char *service, uint64_t epoch,
                         const zf_order_t *orders, size_t count);

//  Sends a CANCEL for a task (or a shard of it). Returns 0 or -1.
int zf_dclient_cancel (zf_dclient_t *self, const char *flow, zf_date_t date, const char *task,
                       int32_t shard);

//  Receives for up to timeout_ms, or until results with a status other
//  than running number at least until_count in all. Acknowledges every
//  result. Returns the number of such results held now.
size_t zf_dclient_wait (zf_dclient_t *self, size_t until_count, int timeout_ms);

//  Every result received, in order, running notices included.
const zf_dresult_t *zf_dclient_results (zf_dclient_t *self, size_t *count);

//  Results whose status is not running.
size_t zf_dclient_done (zf_dclient_t *self);

//  Receives until a HELLO reply has come, or timeout_ms passed. True if one came.
bool zf_dclient_wait_hello (zf_dclient_t *self, int timeout_ms);

//  Refusals received (their codes), and HELLO replies.
size_t zf_dclient_refusals (zf_dclient_t *self, int *last_code);
size_t zf_dclient_hellos (zf_dclient_t *self);

//  Forgets the results received so far.
void zf_dclient_clear (zf_dclient_t *self);

#endif
