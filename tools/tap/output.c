/*  output.c - the tap's lines on stdout, text or JSON, one flush per line. */
#include "output.h"
#include "zf_render.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

//  Writes a JSON object as one line and frees it.
static void
s_json_line (json_t *object)
{
    zf_render_json_line (object, stdout);
    json_decref (object);
    fflush (stdout);
}

char *
zf_out_event_line (bool json, const zf_event_t *event, zf_out_origin_t origin)
{
    if (json) {
        json_t *object = zf_render_event_json (event, origin == ZF_OUT_SNAPSHOT);
        if (object && origin == ZF_OUT_REPAIRED)
            json_object_set_new (object, "repaired", json_true ());
        char *text = object ? json_dumps (object, JSON_COMPACT) : NULL;
        json_decref (object);
        char *line = text ? zsys_sprintf ("%s\n", text) : NULL;
        free (text);
        return line;
    }
    char *line = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&line, &size);
    if (!stream) return NULL;
    zf_render_event_text (event, origin == ZF_OUT_SNAPSHOT, stream);
    fclose (stream);
    return line;
}

void
zf_out_line (char **line_p)
{
    if (*line_p) {
        fputs (*line_p, stdout);
        fflush (stdout);
    }
    free (*line_p);
    *line_p = NULL;
}

void
zf_out_event (bool json, const zf_event_t *event, zf_out_origin_t origin)
{
    char *line = zf_out_event_line (json, event, origin);
    zf_out_line (&line);
}

void
zf_out_dispevent (bool json, const zf_dispevent_t *event)
{
    if (json)
        s_json_line (zf_render_dispevent_json (event));
    else {
        zf_render_dispevent_text (event, stdout);
        fflush (stdout);
    }
}

void
zf_out_gap (bool json, const char *source, uint64_t from, uint64_t to, bool repaired,
            const char *how)
{
    if (json) {
        json_t *object =
            json_pack ("{s:s, s:s, s:I, s:I, s:b}", "source", source, "kind", "gap", "from",
                       (json_int_t)from, "to", (json_int_t)to, "repaired", repaired);
        if (object && how) json_object_set_new (object, "detail", zf_render_string_json (how));
        s_json_line (object);
        return;
    }
    const char *which = streq (source, "registry") ? "" : "dispatcher ";
    printf ("gap: missed %sseq %" PRIu64 "..%" PRIu64 "%s%s\n", which, from, to, how ? ", " : "",
            how ? how : "");
    fflush (stdout);
}

void
zf_out_note (bool json, const char *source, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    if (!text) return;
    if (json)
        s_json_line (json_pack ("{s:s, s:s, s:o}", "source", source, "kind", "note", "detail",
                                zf_render_string_json (text)));
    else {
        printf ("note: %s\n", text);
        fflush (stdout);
    }
    free (text);
}

void
zf_out_snapshot_end (bool json, size_t count, uint64_t seq_at)
{
    if (json)
        s_json_line (json_pack ("{s:s, s:s, s:I, s:I}", "source", "registry", "kind",
                                "snapshot_end", "events", (json_int_t)count, "seq_at",
                                (json_int_t)seq_at));
    else {
        printf ("snapshot: %zu events at seq %" PRIu64 "\n", count, seq_at);
        fflush (stdout);
    }
}
