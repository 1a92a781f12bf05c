/*  logs.c - `zflow logs`: a task attempt's captured output, raw on stdout. */
#include "logs.h"
#include "rpc.h"

#include <getopt.h>
#include <stdio.h>

static const zf_cli_verb_t s_verb = {
    "logs", "FLOW TASK [--date D] [--shard K] [--attempt N] [--registry EP]",
    "Prints the output a task attempt wrote, as it was written: the latest run\n"
    "or the run of date D, shard K (index or key) of a sharded task, attempt N\n"
    "(default: the latest). When the log is longer than one reply holds, the\n"
    "end of it is printed and a note on stderr says so.\n"};

int
zf_cmd_logs (int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {"date", required_argument, NULL, ZF_CLI_OPT_DATE},
        {"shard", required_argument, NULL, ZF_CLI_OPT_SHARD},
        {"attempt", required_argument, NULL, ZF_CLI_OPT_ATTEMPT},
        {NULL, 0, NULL, 0},
    };
    const char *registry = NULL;
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    int opt, status;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            return zf_cli_help (&s_verb);
        case ZF_CLI_OPT_REGISTRY:
            registry = optarg;
            break;
        case ZF_CLI_OPT_DATE:
            if ((status = zf_cli_date (&s_verb, optarg, &req.date))) return status;
            break;
        case ZF_CLI_OPT_SHARD:
            if ((status = zf_cli_shard (&s_verb, optarg, &req.shard, &req.shard_key)))
                return status;
            break;
        case ZF_CLI_OPT_ATTEMPT:
            if ((status = zf_cli_attempt (&s_verb, optarg, &req.attempt))) return status;
            break;
        default:
            return zf_cli_bad_option (&s_verb, opt, argv);
        }
    }
    if ((status = zf_cli_positionals (&s_verb, argc, argv, 2, 2, "FLOW TASK")) ||
        (status = zf_cli_name (&s_verb, "FLOW", argv[optind])) ||
        (status = zf_cli_name (&s_verb, "TASK", argv[optind + 1])))
        return status;
    req.flow = argv[optind];
    req.task = argv[optind + 1];
    zf_rpc_t *rpc = zf_rpc_new (&s_verb, registry);
    if (!rpc) return 2;
    zf_reg_reply_t reply;
    status = zf_rpc_call (rpc, &req, ZF_BODY_LOGS_REPLY, &reply);
    if (status == 0) {
        if (reply.text_size > 0) fwrite (reply.text, 1, reply.text_size, stdout);
        if (fflush (stdout) != 0)
            status = zf_cli_fail (&s_verb, "cannot write the log to stdout");
        else if (reply.truncated)
            fprintf (stderr, "zflow logs: the log is longer; this is its last %zu bytes\n",
                     reply.text_size);
        else if (reply.text_size == 0)
            fprintf (stderr, "zflow logs: the attempt printed nothing\n");
    }
    zf_rpc_destroy (&rpc);
    return status;
}
