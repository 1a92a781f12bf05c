/*  results.c - dispatcher results mapped to engine calls. */
#include "results.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void
zf_results_map (const zf_result_t *result, char *buf, size_t size, zf_result_map_t *out)
{
    assert (result && buf && size > 0 && out);
    memset (out, 0, sizeof *out);
    out->exit_status = result->exit_status;
    const char *tail = result->log_tail && *result->log_tail ? result->log_tail : NULL;
    uint8_t status = result->status;
    if (status == ZF_JOB_RUNNING) {
        out->action = ZF_RESULT_RUNNING;
        return;
    }
    out->ack = true;
    bool loser = !result->winner && (status == ZF_JOB_CANCELLED || result->copy != 0);
    if (status == ZF_JOB_LOST || loser) {
        out->action = ZF_RESULT_IGNORE;
        return;
    }
    out->action = ZF_RESULT_ENDED;
    switch (status) {
    case ZF_JOB_SUCCEEDED:
        out->outcome = ZF_OUTCOME_SUCCEEDED;
        break;
    case ZF_JOB_CANCELLED:
        out->outcome = ZF_OUTCOME_CANCELLED;
        out->detail = tail ? tail : "cancelled";
        break;
    case ZF_JOB_TIMED_OUT:
        out->outcome = ZF_OUTCOME_FAILED;
        snprintf (buf, size, "timed out%s%s", tail ? "\n" : "", tail ? tail : "");
        out->detail = buf;
        break;
    case ZF_JOB_NO_WORKER:
        out->outcome = ZF_OUTCOME_FAILED;
        out->detail = tail ? tail : "no worker offered the service in time";
        break;
    default:
        //  failed, or a status this registry does not know: a failure.
        out->outcome = ZF_OUTCOME_FAILED;
        if (tail)
            out->detail = tail;
        else {
            snprintf (buf, size, "exit status %d", (int)result->exit_status);
            out->detail = buf;
        }
        break;
    }
}
