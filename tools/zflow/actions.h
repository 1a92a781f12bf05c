/*  actions.h - the operator's actions on a run: retry, skip, cancel, pause, resume. */
#ifndef ZF_ACTIONS_H_INCLUDED
#define ZF_ACTIONS_H_INCLUDED

//  `zflow retry|skip FLOW TASK [--date D] [--shard K]`.
int zf_cmd_retry (int argc, char **argv);
int zf_cmd_skip (int argc, char **argv);

//  `zflow cancel FLOW [TASK] [--date D] [--shard K]`: a task, or the whole run.
int zf_cmd_cancel (int argc, char **argv);

//  `zflow pause|resume FLOW`.
int zf_cmd_pause (int argc, char **argv);
int zf_cmd_resume (int argc, char **argv);

#endif
