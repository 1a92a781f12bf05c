/*  submit.c - `zflow submit FILE`: send the flow file with its absolute path.

    The registry checks the flow (its errors come back as file:line:col lines),
    stores it as a new version and runs its `run:` commands in the file's
    folder, which is why the path sent is the real, absolute one.
*/
#include "submit.h"
#include "rpc.h"
#include "zf_flow.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const zf_cli_verb_t s_verb = {
    "submit", "FILE [--registry EP]",
    "Sends the flow file to the registry, which stores it as the flow's next\n"
    "version (runs already open keep the version they started with). Prints\n"
    "`submitted FLOW version N`. An invalid file prints the registry's\n"
    "FILE:LINE:COL: message lines on stderr and exits 1.\n"};

//  Reads the whole file, at most ZF_MAX_FLOW_SIZE bytes. Returns the text
//  (the caller frees it) or NULL after printing why.
static char *
s_read (const char *path, size_t *size_out)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        zf_cli_fail (&s_verb, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    char *text = malloc (ZF_MAX_FLOW_SIZE + 1);
    size_t size = text ? fread (text, 1, ZF_MAX_FLOW_SIZE + 1, file) : 0;
    int failed = ferror (file);
    fclose (file);
    if (!text || failed) {
        zf_cli_fail (&s_verb, "cannot read %s", path);
        free (text);
        return NULL;
    }
    if (size > ZF_MAX_FLOW_SIZE) {
        zf_cli_fail (&s_verb, "%s is larger than ZF_MAX_FLOW_SIZE (%d bytes)", path,
                     ZF_MAX_FLOW_SIZE);
        free (text);
        return NULL;
    }
    text[size] = 0;
    *size_out = size;
    return text;
}

//  The flow's name as the file gives it, for the message; NULL if the file
//  does not parse here (the registry's answer then says why).
static char *
s_flow_name (const char *text, size_t size, const char *path)
{
    zf_flow_t *flow = zf_flow_parse (text, size, path, NULL);
    if (!flow) return NULL;
    char *name = strdup (flow->name);
    zf_flow_destroy (&flow);
    return name;
}

int
zf_cmd_submit (int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *registry = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            return zf_cli_help (&s_verb);
        case ZF_CLI_OPT_REGISTRY:
            registry = optarg;
            break;
        default:
            return zf_cli_bad_option (&s_verb, opt, argv);
        }
    }
    int status = zf_cli_positionals (&s_verb, argc, argv, 1, 1, "FILE");
    if (status) return status;
    const char *file = argv[optind];
    zf_rpc_t *rpc = zf_rpc_new (&s_verb, registry);
    if (!rpc) return 2;
    char path[PATH_MAX];
    size_t size = 0;
    char *text = NULL;
    if (!realpath (file, path))
        status = zf_cli_fail (&s_verb, "cannot read %s: %s", file, strerror (errno));
    else if (!(text = s_read (path, &size)))
        status = 1;
    else {
        zf_reg_request_t req;
        zf_reg_reply_t reply;
        zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
        req.text = text;
        req.text_size = size;
        req.path = path;
        status = zf_rpc_call (rpc, &req, ZF_BODY_OK, &reply);
        if (status == 0) {
            char *name = s_flow_name (text, size, path);
            const char *shown = name ? name : reply.text ? reply.text : file;
            printf ("submitted %s", shown);
            if (reply.has_number) printf (" version %" PRId64, reply.number);
            //  "submitted" goes without saying; "unchanged" does not.
            if (reply.text && *reply.text && strcmp (reply.text, "submitted") != 0 &&
                strcmp (reply.text, shown) != 0)
                printf (" (%s)", reply.text);
            printf ("\n");
            free (name);
        }
    }
    free (text);
    zf_rpc_destroy (&rpc);
    return status;
}
