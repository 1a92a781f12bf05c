/*  start.c - `zflow start FLOW [--date D]`: ask the registry to open a run. */
#include "start.h"
#include "rpc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const zf_cli_verb_t s_verb = {
    "start", "FLOW [--date D] [--registry EP]",
    "Opens the run of FLOW for business date D (YYYY-MM-DD; default: today in\n"
    "the flow's time zone). A past date catches up: each day roll opens the\n"
    "next business date until the dates that have not begun yet.\n"};

int
zf_cmd_start (int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {"date", required_argument, NULL, ZF_CLI_OPT_DATE},
        {NULL, 0, NULL, 0},
    };
    const char *registry = NULL;
    zf_date_t date = ZF_DATE_NONE;
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
            if ((status = zf_cli_date (&s_verb, optarg, &date))) return status;
            break;
        default:
            return zf_cli_bad_option (&s_verb, opt, argv);
        }
    }
    if ((status = zf_cli_positionals (&s_verb, argc, argv, 1, 1, "FLOW")) ||
        (status = zf_cli_name (&s_verb, "FLOW", argv[optind])))
        return status;
    const char *flow = argv[optind];
    zf_rpc_t *rpc = zf_rpc_new (&s_verb, registry);
    if (!rpc) return 2;
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    req.date = date;
    status = zf_rpc_call (rpc, &req, ZF_BODY_OK, &reply);
    if (status == 0) {
        //  The reply's number is the date the registry opened, which tells
        //  what "today" was in the flow's zone.
        if (date == ZF_DATE_NONE && reply.has_number && reply.number >= 0 &&
            reply.number <= ZF_PROTO_LAST_DATE)
            date = (zf_date_t)reply.number;
        char text[ZF_DATE_TEXT];
        if (date == ZF_DATE_NONE)
            printf ("started %s for today", flow);
        else
            printf ("started %s for %s", flow, zf_date_format (date, text, sizeof text));
        if (reply.text && *reply.text && strcmp (reply.text, "opened") != 0)
            printf (" (%s)", reply.text);
        printf ("\n");
    }
    zf_rpc_destroy (&rpc);
    return status;
}
