/*  validate.c - `zflow validate FILE`: parse a flow file, report every error. */
#include "validate.h"
#include "zf_flow.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

//  The one line that bad usage prints.
static void
s_usage_line (FILE *out)
{
    fprintf (out, "usage: zflow validate FILE\n");
}

//  Tasks on the longest chain of same-date dependencies, walked in topo order.
static uint32_t
s_longest_chain (const zf_flow_t *flow)
{
    uint32_t *chain = calloc (flow->task_count, sizeof *chain);
    if (!chain) return 0;
    uint32_t longest = 0;
    for (uint32_t k = 0; k < flow->task_count; k++) {
        uint32_t t = flow->topo[k];
        const zf_flow_task_t *task = &flow->tasks[t];
        uint32_t length = 1;
        for (uint32_t j = 0; j < task->after_count; j++)
            if (task->after[j].offset == 0 && chain[task->after[j].task] + 1 > length)
                length = chain[task->after[j].task] + 1;
        chain[t] = length;
        if (length > longest) longest = length;
    }
    free (chain);
    return longest;
}

//  "1 task", "2 tasks".
static const char *
s_plural (uint64_t count, const char *one, const char *many)
{
    return count == 1 ? one : many;
}

//  One line that says what the flow is: its size per date and its shape.
static void
s_summary (const zf_flow_t *flow, FILE *out)
{
    uint64_t instances = 0;
    uint32_t sharded = 0;
    for (uint32_t t = 0; t < flow->task_count; t++) {
        instances += flow->tasks[t].shard_count;
        if (flow->tasks[t].shard_count > 1 || flow->tasks[t].shard_keys) sharded++;
    }
    uint32_t chain = s_longest_chain (flow);
    fprintf (out,
             "%s: valid, %u %s (%u sharded), %" PRIu64 " task %s per date, longest chain %u %s, "
             "timezone %s\n",
             flow->name, flow->task_count, s_plural (flow->task_count, "task", "tasks"), sharded,
             instances, s_plural (instances, "instance", "instances"), chain,
             s_plural (chain, "task", "tasks"), flow->timezone);
}

int
zf_cmd_validate (int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            s_usage_line (stdout);
            printf ("Checks FILE against the flow format. Prints a summary and exits 0 if it is\n"
                    "valid; prints every error as FILE:LINE:COL: message and exits 1 if not.\n");
            return 0;
        }
        fprintf (stderr, "zflow validate: unknown option '%s'\n", argv[optind - 1]);
        s_usage_line (stderr);
        return 2;
    }
    if (argc - optind != 1) {
        if (argc - optind == 0)
            fprintf (stderr, "zflow validate: missing FILE\n");
        else
            fprintf (stderr, "zflow validate: unexpected argument '%s'\n", argv[optind + 1]);
        s_usage_line (stderr);
        return 2;
    }
    const char *path = argv[optind];
    zf_flow_errors_t errors = {0};
    zf_flow_t *flow = zf_flow_load (path, &errors);
    if (!flow) {
        for (uint32_t i = 0; i < errors.count; i++)
            fprintf (stderr, "%s\n", errors.lines[i]);
        if (errors.dropped)
            fprintf (stderr, "%s: %u more errors not shown\n", path, errors.dropped);
        zf_flow_errors_clear (&errors);
        return 1;
    }
    s_summary (flow, stdout);
    zf_flow_destroy (&flow);
    return 0;
}
