/*  requests_internal.h - the request handlers' state, shared by their files.

    requests.c   decoding, routing, SUBMIT, VALIDATE, START, ACTION, ARCHIVED, PING
    status.c     STATUS replies
    logs.c       LOGS replies
    replay.c     SNAPSHOT and EVENTS_SINCE replies
    replies.c    what every handler answers alike (an engine error)

    requests.c calls the others; none of them calls requests.c.
*/
#ifndef ZF_REQUESTS_INTERNAL_H_INCLUDED
#define ZF_REQUESTS_INTERNAL_H_INCLUDED

#include "requests.h"
#include "zf_proto.h"
#include "zf_replier.h"

struct _zf_requests_t {
    //  Lent by the actor
    zsock_t *router;                               //  requests in
    zf_replier_t *replier;                         //  replies out
    zf_engine_t *engine;                           //  the scheduler
    zf_clock_t *clock;                             //  the engine's clock
    zf_publisher_t *publisher;                     //  events to the PUB
    zf_journal_t *journal;                         //  recent event bodies
    zf_session_t *session;                         //  the dispatcher session
    zf_history_t *history;                         //  archived runs
    zf_lagwatch_t *lag;                            //  the archiver's lag, or NULL
    void (*info) (void *arg, zf_reg_info_t *info); //  the registry's state, or NULL
    void *info_arg;                                //  for it
    void (*vote) (void *arg);                      //  a client's turn here, or NULL
    void *vote_arg;                                //  for it

    //  Own
    char *log_dir;                 //  the task logs
    zf_proto_decoder_t *decoder;   //  requests received
    zf_proto_encoder_t *encoder;   //  replies
    int64_t bad_reported_at;       //  when malformed requests were last put on the bus
    uint64_t bad_unreported;       //  malformed requests since then
    zf_task_status_t *task_status; //  STATUS scratch: tasks of every run
    size_t task_status_capacity;   //  entries allocated
    zf_run_status_t *run_status;   //  STATUS scratch: runs
    size_t run_status_capacity;    //  entries allocated
    zf_requests_stats_t stats;     //  counters
    const char *refusal;           //  while not active: ERROR passive's text, else NULL
};

//  status.c, logs.c, replay.c: one reply (or several parts) per request.
void zf_status_reply (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_logs_reply (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_replay_snapshot (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_replay_since (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req);

//  replies.c: ERROR for a failed engine call (code from zf_engine_error_t),
//  with the engine's reason.
void zf_reply_engine_error (zf_requests_t *self, zframe_t *identity, uint64_t req_id, int code);

#endif
