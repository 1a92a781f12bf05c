/*  results.h - what a result from the dispatcher means to the engine.

      status       engine call                              detail
      running      zf_engine_running                        -
      succeeded    zf_engine_result SUCCEEDED               -
      failed       zf_engine_result FAILED                  log tail, or "exit status N"
      timed_out    zf_engine_result FAILED                  "timed out", then the log tail
      no_worker    zf_engine_result FAILED                  why no worker ran it
      cancelled    zf_engine_result CANCELLED               -
      lost         nothing: the dispatcher runs it again    -
                   at attempt + 1, and the engine follows
                   when that attempt reports running

    Only the winning copy of a speculative pair counts: a result that says
    it lost (cancelled, or from the second copy, without the winner flag)
    changes nothing. Every result but a running notice is acknowledged, so
    the dispatcher forgets it, whatever the engine made of it.
*/
#ifndef ZF_RESULTS_H_INCLUDED
#define ZF_RESULTS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "zf_dispatch.h"
#include "zf_engine.h"

//  Room for a composed detail: a log tail and a short reason before it.
#define ZF_RESULTS_DETAIL (ZF_MAX_TEXT + 128)

//  What to do with one result.
typedef enum {
    ZF_RESULT_IGNORE = 0,  //  nothing (lost, or a losing copy)
    ZF_RESULT_RUNNING = 1, //  zf_engine_running
    ZF_RESULT_ENDED = 2    //  zf_engine_result with outcome
} zf_result_action_t;

//  The engine call a result maps to.
typedef struct {
    zf_result_action_t action; //  what to call
    zf_outcome_t outcome;      //  ENDED: how the attempt ended
    int32_t exit_status;       //  ENDED: its exit status
    const char *detail;        //  ENDED: error text, or NULL (points into the result or buf)
    bool ack;                  //  acknowledge the key to the dispatcher
} zf_result_map_t;

//  Maps a result; buf (ZF_RESULTS_DETAIL bytes) holds a composed detail.
void zf_results_map (const zf_result_t *result, char *buf, size_t size, zf_result_map_t *out);

#endif
