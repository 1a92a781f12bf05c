/*  actions.c - `zflow retry|skip|cancel|pause|resume`: one ACTION request each.

    The five verbs differ only in what they need: retry and skip name a task,
    cancel may (else it cancels the whole run), pause and resume take only
    the flow. --shard K names one shard, by index when K is all digits and
    by key otherwise; it needs a task.
*/
#include "actions.h"
#include "rpc.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

//  What sets one action verb apart.
typedef struct {
    zf_cli_verb_t verb; //  name, usage, help
    zf_action_t action; //  what ACTION asks for
    int min_args;       //  positional arguments needed: FLOW, TASK
    int max_args;       //  positional arguments allowed
    bool targets;       //  accepts --date and --shard
    const char *done;   //  what the success line says happened
} s_action_t;

static const s_action_t s_retry = {
    {"retry", "FLOW TASK [--date D] [--shard K] [--registry EP]",
     "Runs a failed task (or one shard of it) of FLOW's latest run, or of its\n"
     "run of date D, again. K is a shard index (all digits) or a shard key.\n"},
    ZF_ACTION_RETRY,
    2,
    2,
    true,
    "retried"};

static const s_action_t s_skip = {
    {"skip", "FLOW TASK [--date D] [--shard K] [--registry EP]",
     "Treats a task (or one shard of it) as done, so its successors can run.\n"},
    ZF_ACTION_SKIP,
    2,
    2,
    true,
    "skipped"};

static const s_action_t s_cancel = {
    {"cancel", "FLOW [TASK] [--date D] [--shard K] [--registry EP]",
     "Stops a task (or one shard of it), or without TASK the whole run.\n"},
    ZF_ACTION_CANCEL,
    1,
    2,
    true,
    "cancelled"};

static const s_action_t s_pause = {
    {"pause", "FLOW [--registry EP]",
     "Dispatches nothing more of FLOW until it is resumed; what runs goes on.\n"},
    ZF_ACTION_PAUSE,
    1,
    1,
    false,
    "paused"};

static const s_action_t s_resume = {
    {"resume", "FLOW [--registry EP]", "Undoes pause: FLOW's ready tasks are dispatched again.\n"},
    ZF_ACTION_RESUME,
    1,
    1,
    false,
    "resumed"};

//  Parses the verb's arguments, sends the ACTION and prints what happened.
static int
s_run (const s_action_t *self, int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {"date", required_argument, NULL, ZF_CLI_OPT_DATE},
        {"shard", required_argument, NULL, ZF_CLI_OPT_SHARD},
        {NULL, 0, NULL, 0},
    };
    const zf_cli_verb_t *verb = &self->verb;
    const char *registry = NULL, *shard_text = NULL;
    zf_date_t date = ZF_DATE_NONE;
    int opt, status;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'h') return zf_cli_help (verb);
        if (opt == ZF_CLI_OPT_REGISTRY)
            registry = optarg;
        else if (opt == ZF_CLI_OPT_DATE && self->targets) {
            if ((status = zf_cli_date (verb, optarg, &date))) return status;
        } else if (opt == ZF_CLI_OPT_SHARD && self->targets)
            shard_text = optarg;
        else if (opt == ZF_CLI_OPT_DATE || opt == ZF_CLI_OPT_SHARD)
            return zf_cli_usage_error (verb, "option '%s' does not apply", argv[optind - 1]);
        else
            return zf_cli_bad_option (verb, opt, argv);
    }
    const char *names = self->max_args == 2 ? "FLOW TASK" : "FLOW";
    if ((status = zf_cli_positionals (verb, argc, argv, self->min_args, self->max_args, names)) ||
        (status = zf_cli_name (verb, "FLOW", argv[optind])))
        return status;
    const char *flow = argv[optind];
    const char *task = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (task && (status = zf_cli_name (verb, "TASK", task))) return status;
    int32_t shard = ZF_SHARD_WHOLE;
    const char *shard_key = NULL;
    if (shard_text) {
        if (!task) return zf_cli_usage_error (verb, "--shard needs a TASK");
        if ((status = zf_cli_shard (verb, shard_text, &shard, &shard_key))) return status;
    }
    zf_rpc_t *rpc = zf_rpc_new (verb, registry);
    if (!rpc) return 2;
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = (uint8_t)self->action;
    req.flow = flow;
    req.task = task;
    req.date = date;
    req.shard = shard;
    req.shard_key = shard_key;
    status = zf_rpc_call (rpc, &req, ZF_BODY_OK, &reply);
    if (status == 0) {
        printf ("%s %s", self->done, flow);
        if (task)
            printf (" %s", task);
        else if (self->action == ZF_ACTION_CANCEL)
            printf (" (the whole run)");
        if (shard_text) printf (" shard %s", shard_text);
        if (date != ZF_DATE_NONE) {
            char text[ZF_DATE_TEXT];
            printf (" for %s", zf_date_format (date, text, sizeof text));
        }
        //  The registry's note repeats what happened, or says more.
        if (reply.text && *reply.text && strcmp (reply.text, self->done) != 0)
            printf (" (%s)", reply.text);
        printf ("\n");
    }
    zf_rpc_destroy (&rpc);
    return status;
}

int
zf_cmd_retry (int argc, char **argv)
{
    return s_run (&s_retry, argc, argv);
}

int
zf_cmd_skip (int argc, char **argv)
{
    return s_run (&s_skip, argc, argv);
}

int
zf_cmd_cancel (int argc, char **argv)
{
    return s_run (&s_cancel, argc, argv);
}

int
zf_cmd_pause (int argc, char **argv)
{
    return s_run (&s_pause, argc, argv);
}

int
zf_cmd_resume (int argc, char **argv)
{
    return s_run (&s_resume, argc, argv);
}
