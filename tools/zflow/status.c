/*  status.c - `zflow status [FLOW] [--date D] [--json]`.

    Text is a table per run: a header line (flow, date, version, run state,
    how long, paused), then one row per task with its state, shards done of
    total, attempt, duration (so far, for a task still running) and, for a
    task that failed, what went wrong on one line. JSON is the object of
    zf_render_run_json: one for a FLOW, an array of them without.
*/
#include "status.h"
#include "rpc.h"
#include "zf_render.h"

#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const zf_cli_verb_t s_verb = {
    "status", "[FLOW] [--date D] [--json] [--registry EP]",
    "Shows the latest run of FLOW (or of every flow), or its run of business\n"
    "date D: the run's state and each task's state, shards done of total,\n"
    "attempt, duration and, for failed tasks, what went wrong. Without FLOW,\n"
    "a first line says which registry answered: its state in a pair, since\n"
    "when, its term and its peer's state. --json prints one object for FLOW\n"
    "(with that as \"registry\"), an array of them without FLOW.\n"};

//  Columns of the task table.
#define S_COLUMNS 6

//  The widest DETAIL cell, bytes.
#define S_DETAIL_MAX 80

//  One row of the task table, each cell allocated.
typedef struct {
    char *cell[S_COLUMNS]; //  task, state, shards, attempt, duration, detail
} s_row_t;

//  How long something that started at started has taken: until ended, or
//  until now if it has not ended. "-" if it has not started.
static void
s_took (int64_t started, int64_t ended, int64_t now, char *buf, size_t size)
{
    if (started <= 0)
        snprintf (buf, size, "-");
    else
        zf_render_duration ((ended > 0 ? ended : now) - started, buf, size);
}

//  The DETAIL cell: for a failed task, its exit status and what went wrong.
static char *
s_detail (const zf_task_status_t *task)
{
    if (task->state != ZF_TS_FAILED && task->state != ZF_TS_RETRYING && task->shards_failed == 0)
        return strdup ("");
    char line[S_DETAIL_MAX + 1];
    zf_render_oneline (task->detail, S_DETAIL_MAX, line, sizeof line);
    char *cell = NULL;
    if (task->exit_status != 0)
        cell = zsys_sprintf ("exit %" PRId32 "%s%s", task->exit_status, *line ? ": " : "", line);
    else
        cell = strdup (line);
    return cell;
}

//  Fills a row for one task.
static void
s_row (const zf_task_status_t *task, int64_t now, s_row_t *row)
{
    uint32_t total, done, failed;
    zf_render_task_shards (task, &total, &done, &failed);
    char took[ZF_RENDER_DURATION_TEXT];
    s_took (task->started, task->ended, now, took, sizeof took);
    row->cell[0] = strdup (task->id);
    row->cell[1] = strdup (zf_task_state_name (task->state));
    if (task->shards_total == 0)
        row->cell[2] = strdup ("-");
    else if (failed > 0)
        row->cell[2] =
            zsys_sprintf ("%" PRIu32 "/%" PRIu32 " (%" PRIu32 " failed)", done, total, failed);
    else
        row->cell[2] = zsys_sprintf ("%" PRIu32 "/%" PRIu32, done, total);
    row->cell[3] = task->attempt ? zsys_sprintf ("%" PRIu32, task->attempt) : strdup ("-");
    row->cell[4] = strdup (took);
    row->cell[5] = s_detail (task);
}

//  Frees the cells of the first count rows, and the rows.
static void
s_rows_free (s_row_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        for (int c = 0; c < S_COLUMNS; c++)
            free (rows[i].cell[c]);
    free (rows);
}

int
zf_status_print_run (const zf_run_status_t *run, int64_t now, FILE *out)
{
    char date[ZF_DATE_TEXT], took[ZF_RENDER_DURATION_TEXT];
    s_took (run->started, run->ended, now, took, sizeof took);
    fprintf (out, "%s %s  version %" PRIu32 "  %s", run->flow,
             run->date == ZF_DATE_NONE ? "-" : zf_date_format (run->date, date, sizeof date),
             run->version, zf_run_state_name (run->state));
    if (run->started > 0) fprintf (out, "  %s", took);
    if (run->paused) fprintf (out, "  paused");
    fprintf (out, "\n");
    static const char *titles[S_COLUMNS] = {"TASK",    "STATE",    "SHARDS",
                                            "ATTEMPT", "DURATION", "DETAIL"};
    s_row_t *rows = calloc (run->task_count + 1, sizeof *rows);
    if (!rows) return -1;
    size_t width[S_COLUMNS];
    for (int c = 0; c < S_COLUMNS; c++)
        width[c] = strlen (titles[c]);
    for (size_t i = 0; i < run->task_count; i++) {
        s_row (&run->tasks[i], now, &rows[i]);
        for (int c = 0; c < S_COLUMNS; c++) {
            if (!rows[i].cell[c]) {
                s_rows_free (rows, i + 1);
                return -1;
            }
            if (strlen (rows[i].cell[c]) > width[c]) width[c] = strlen (rows[i].cell[c]);
        }
    }
    //  The last column is not padded, so lines carry no trailing blanks.
    for (size_t i = 0; i <= run->task_count; i++) {
        const char *const *cells = i == 0 ? titles : (const char *const *)rows[i - 1].cell;
        int last = S_COLUMNS - 1;
        while (last > 0 && !*cells[last])
            last--;
        for (int c = 0; c < last; c++)
            fprintf (out, "%-*s  ", (int)width[c], cells[c]);
        fprintf (out, "%s\n", cells[last]);
    }
    s_rows_free (rows, run->task_count);
    return 0;
}

//  The run a FLOW query shows: the only one, or the latest date.
static const zf_run_status_t *
s_latest (const zf_reg_reply_t *reply)
{
    const zf_run_status_t *latest = &reply->runs[0];
    for (size_t i = 1; i < reply->run_count; i++)
        if (reply->runs[i].date > latest->date) latest = &reply->runs[i];
    return latest;
}

//  "registry: active since T, term N; peer passive at seq S": which
//  registry answered and how its pair stands.
static void
s_print_registry (const zf_reg_info_t *info, FILE *out)
{
    char since[40];
    zf_time_format (info->since, since, sizeof since);
    if (info->state == 0)
        fprintf (out, "registry: active since %s, term %" PRIu64 "\n", since, info->epoch);
    else {
        fprintf (out, "registry: %s since %s, term %" PRIu64 "; ",
                 zf_bstar_state_name (info->state), since, info->epoch);
        if (info->peer_state)
            fprintf (out, "peer %s at seq %" PRIu64 "\n", zf_bstar_state_name (info->peer_state),
                     info->peer_seq);
        else
            fprintf (out, "peer silent\n");
    }
}

//  The registry's info as JSON: {"state", "epoch", "since", "peer", "peer_seq"}.
static json_t *
s_registry_json (const zf_reg_info_t *info)
{
    return json_pack ("{s:s, s:I, s:o, s:s?, s:I}", "state",
                      info->state ? zf_bstar_state_name (info->state) : "active", "epoch",
                      (json_int_t)info->epoch, "since", zf_render_time_json (info->since), "peer",
                      info->peer_state ? zf_bstar_state_name (info->peer_state) : NULL, "peer_seq",
                      (json_int_t)info->peer_seq);
}

//  Prints the reply as JSON: one object for a flow, else an array.
static int
s_print_json (const zf_reg_reply_t *reply, bool one)
{
    json_t *value = NULL;
    if (one) {
        value = zf_render_run_json (s_latest (reply));
        if (value && reply->has_info)
            json_object_set_new (value, "registry", s_registry_json (&reply->info));
    } else {
        value = json_array ();
        for (size_t i = 0; value && i < reply->run_count; i++)
            json_array_append_new (value, zf_render_run_json (&reply->runs[i]));
    }
    int rc = zf_render_json_line (value, stdout);
    json_decref (value);
    return rc == 0 ? 0 : zf_cli_fail (&s_verb, "cannot write JSON (out of memory)");
}

int
zf_cmd_status (int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {"date", required_argument, NULL, ZF_CLI_OPT_DATE},
        {"json", no_argument, NULL, ZF_CLI_OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *registry = NULL;
    zf_date_t date = ZF_DATE_NONE;
    bool json = false;
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
        case ZF_CLI_OPT_JSON:
            json = true;
            break;
        default:
            return zf_cli_bad_option (&s_verb, opt, argv);
        }
    }
    if ((status = zf_cli_positionals (&s_verb, argc, argv, 0, 1, "FLOW"))) return status;
    const char *flow = optind < argc ? argv[optind] : NULL;
    if (flow && (status = zf_cli_name (&s_verb, "FLOW", flow))) return status;
    zf_rpc_t *rpc = zf_rpc_new (&s_verb, registry);
    if (!rpc) return 2;
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = flow;
    req.date = date;
    status = zf_rpc_call (rpc, &req, ZF_BODY_STATUS_REPLY, &reply);
    if (status == 0) {
        if (flow && reply.run_count == 0) {
            //  The flow exists and was never started. Text says so; JSON
            //  has no run object to print, which a script must notice.
            if (json)
                status = zf_cli_fail (&s_verb, "%s has no run yet", flow);
            else
                printf ("%s has no run yet\n", flow);
        } else if (json)
            status = s_print_json (&reply, flow != NULL);
        else if (reply.run_count == 0) {
            if (!flow && reply.has_info) s_print_registry (&reply.info, stdout);
            printf ("no runs yet\n");
        } else {
            int64_t now = zclock_time ();
            int rc = 0;
            if (!flow && reply.has_info) s_print_registry (&reply.info, stdout);
            if (flow)
                rc = zf_status_print_run (s_latest (&reply), now, stdout);
            else
                for (size_t i = 0; i < reply.run_count && rc == 0; i++) {
                    if (i > 0) printf ("\n");
                    rc = zf_status_print_run (&reply.runs[i], now, stdout);
                }
            if (rc != 0) status = zf_cli_fail (&s_verb, "out of memory printing the tasks");
        }
    }
    zf_rpc_destroy (&rpc);
    return status;
}
