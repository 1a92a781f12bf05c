/*  main.c - the zflow command line: global options, then one verb.

    Exit status is a contract (DESIGN.md): 0 ok, 1 failure with a clear line on
    stderr, 2 bad usage with a usage line. Each verb lives in its own file and
    parses its own options; this file only finds the verb.
*/
#include "actions.h"
#include "demo.h"
#include "logs.h"
#include "start.h"
#include "status.h"
#include "submit.h"
#include "up.h"
#include "validate.h"
#include "wait.h"
#include "zf_common.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef ZF_VERSION
#define ZF_VERSION "unknown"
#endif

//  A verb. Its handler gets argv from the verb's own name on, with getopt
//  reset (optind = 0), and returns the exit status.
typedef struct {
    const char *name; //  as typed after zflow
    int (*run) (int argc, char **argv);
    const char *args;    //  its arguments, for the usage text
    const char *summary; //  what it does, in a few words
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"up", zf_cmd_up, "[OPTIONS]", "start every service locally and supervise them"},
    {"demo", zf_cmd_demo, "[--exit]", "up, then run the example end-of-day flow"},
    {"validate", zf_cmd_validate, "FILE", "check a flow file and summarise it"},
    {"submit", zf_cmd_submit, "FILE", "send a flow file to the registry as a new version"},
    {"start", zf_cmd_start, "FLOW [--date D]", "open a business date of a flow"},
    {"status", zf_cmd_status, "[FLOW] [OPTS]", "show runs and their tasks (--json)"},
    {"retry", zf_cmd_retry, "FLOW TASK [OPTS]", "run a failed task (or shard) again"},
    {"skip", zf_cmd_skip, "FLOW TASK [OPTS]", "treat a task (or shard) as done"},
    {"cancel", zf_cmd_cancel, "FLOW [TASK]", "stop a task, a shard or a whole run"},
    {"pause", zf_cmd_pause, "FLOW", "dispatch nothing more of a flow"},
    {"resume", zf_cmd_resume, "FLOW", "dispatch a paused flow again"},
    {"logs", zf_cmd_logs, "FLOW TASK [OPTS]", "print a task attempt's output"},
    {"wait", zf_cmd_wait, "FLOW [OPTS]", "block until a run ends (--timeout DUR)"},
};

#define S_VERB_COUNT (sizeof s_verbs / sizeof s_verbs[0])

//  The one line that bad usage prints.
static void
s_usage_line (FILE *out)
{
    fprintf (out, "usage: zflow [-h] [-v] [--version] VERB [ARGS...]\n");
}

//  The full help: the usage line and every verb.
static void
s_help (FILE *out)
{
    s_usage_line (out);
    fprintf (out, "\noptions:\n"
                  "  -h, --help     show this help\n"
                  "  -v, --verbose  more log output (-vv for debug)\n"
                  "      --version  print the version\n"
                  "\nverbs:\n");
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        char call[64];
        snprintf (call, sizeof call, "%s %s", s_verbs[i].name, s_verbs[i].args);
        fprintf (out, "  %-22s %s\n", call, s_verbs[i].summary);
    }
}

int
main (int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int verbosity = 0;
    int opt;
    //  Our own messages, not getopt's (which would name the full path).
    opterr = 0;
    //  "+": stop at the verb, whose options are its own.
    while ((opt = getopt_long (argc, argv, "+hv", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            s_help (stdout);
            return 0;
        case 'v':
            verbosity++;
            break;
        case 'V':
            printf ("zflow %s\n", ZF_VERSION);
            return 0;
        default:
            fprintf (stderr, "zflow: unknown option '%s'\n", argv[optind - 1]);
            s_usage_line (stderr);
            return 2;
        }
    }
    zf_log_init ("zflow", verbosity);
    if (optind >= argc) {
        fprintf (stderr, "zflow: missing verb (try zflow --help)\n");
        s_usage_line (stderr);
        return 2;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < S_VERB_COUNT; i++)
        if (strcmp (name, s_verbs[i].name) == 0) {
            int verb_argc = argc - optind;
            char **verb_argv = argv + optind;
            optind = 0;
            return s_verbs[i].run (verb_argc, verb_argv);
        }
    fprintf (stderr, "zflow: unknown verb '%s' (try zflow --help)\n", name);
    s_usage_line (stderr);
    return 2;
}
