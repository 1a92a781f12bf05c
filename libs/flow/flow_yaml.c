/*  flow_yaml.c - libyaml events to a compact tree of nodes, and error reports.

    The event API rather than libyaml's document loader: it lets us refuse an
    alias where it stands (a loader would quietly share the node, and a file
    of aliases to aliases could make a walk over the tree explode), bound the
    nesting depth before anything is allocated for it, and keep each node in
    24 bytes, since an 8 MB file can hold millions of them.
*/
#include "flow_internal.h"
#include "zf_array.h"
#include "zf_limits.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void
zf_flow_report (zf_flow_report_t *self, uint32_t line, uint32_t col, const char *format, ...)
{
    self->found++;
    zf_flow_errors_t *errors = self->errors;
    if (!errors) return;
    if (errors->count >= ZF_MAX_FLOW_ERRORS) {
        errors->dropped++;
        return;
    }
    char *message = NULL;
    va_list args;
    va_start (args, format);
    int rc = vasprintf (&message, format, args);
    va_end (args);
    char *entry = NULL;
    if (rc >= 0) {
        if (line)
            rc = asprintf (&entry, "%s:%u:%u: %s", self->path, line, col, message);
        else
            rc = asprintf (&entry, "%s: %s", self->path, message);
        free (message);
    }
    char **lines = rc >= 0 ? realloc (errors->lines, (errors->count + 1) * sizeof *lines) : NULL;
    if (!lines) {
        //  Out of memory: the error still counts, so the parse still fails.
        if (rc >= 0) free (entry);
        errors->dropped++;
        return;
    }
    errors->lines = lines;
    errors->lines[errors->count++] = entry;
}

void
zf_flow_errors_clear (zf_flow_errors_t *errors)
{
    if (!errors) return;
    for (uint32_t i = 0; i < errors->count; i++)
        free (errors->lines[i]);
    free (errors->lines);
    errors->lines = NULL;
    errors->count = 0;
    errors->dropped = 0;
}

//  Appends a node and links it under the innermost open collection. Returns
//  its index, or UINT32_MAX when memory ran out.
static uint32_t
s_append (zf_flow_tree_t *self, uint8_t kind, const yaml_mark_t *mark, uint32_t *parents,
          uint32_t *last, int depth)
{
    if (self->count == self->alloc) {
        size_t alloc = self->alloc;
        if (alloc > UINT32_MAX / 2 ||
            zf_array_grow ((void **)&self->nodes, &alloc, alloc + 1, sizeof *self->nodes))
            return UINT32_MAX;
        self->alloc = (uint32_t)alloc;
    }
    uint32_t index = self->count++;
    zf_flow_node_t *node = &self->nodes[index];
    memset (node, 0, sizeof *node);
    node->kind = kind;
    node->line = (uint32_t)mark->line + 1;
    node->col = (uint32_t)mark->column + 1;
    if (depth > 0) {
        uint32_t parent = parents[depth - 1];
        if (last[depth - 1])
            self->nodes[last[depth - 1]].next = index;
        else
            assert (index == parent + 1);
        last[depth - 1] = index;
        self->nodes[parent].size++;
    }
    return index;
}

//  Copies a scalar's text, nul-terminated, into the pool. Returns 0 or -1.
static int
s_store (zf_flow_tree_t *self, zf_flow_node_t *node, const unsigned char *value, size_t length)
{
    //  Offsets are 32-bit; an 8 MB file never needs more than a few times that.
    size_t need = self->pool_size + length + 1;
    if (need > UINT32_MAX / 2 || zf_array_grow ((void **)&self->pool, &self->pool_alloc, need, 1))
        return -1;
    node->text = (uint32_t)self->pool_size;
    node->size = (uint32_t)length;
    memcpy (self->pool + self->pool_size, value, length);
    self->pool[self->pool_size + length] = 0;
    self->pool_size += length + 1;
    return 0;
}

//  Reports an explicit tag, written the short way for YAML's own ("!!str").
static void
s_tag_error (zf_flow_report_t *report, const yaml_mark_t *mark, const yaml_char_t *tag)
{
    const char *text = (const char *)tag;
    const char *prefix = "tag:yaml.org,2002:";
    bool own = strncmp (text, prefix, strlen (prefix)) == 0;
    zf_flow_report (report, (uint32_t)mark->line + 1, (uint32_t)mark->column + 1,
                    "tags are not used in flow files: remove '%s%.40s'", own ? "!!" : "",
                    own ? text + strlen (prefix) : text);
}

//  Line and column (1-based, in characters) of a byte offset into the text,
//  for reader errors, where libyaml gives only the offset.
static void
s_position (const char *text, size_t size, size_t offset, uint32_t *line, uint32_t *col)
{
    *line = 1;
    *col = 1;
    size_t start = size >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    for (size_t i = start; i < offset && i < size; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80)
            (*col)++;
    }
}

//  Reports libyaml's own complaint, with its position and context.
static void
s_yaml_error (const yaml_parser_t *parser, const char *text, size_t size, zf_flow_report_t *report)
{
    const char *problem = parser->problem ? parser->problem : "unreadable input";
    if (parser->error == YAML_MEMORY_ERROR) {
        zf_flow_report (report, 0, 0, "out of memory reading the flow file");
        return;
    }
    if (parser->error == YAML_READER_ERROR) {
        uint32_t line, col;
        s_position (text, size, parser->problem_offset, &line, &col);
        if (parser->problem_value != -1)
            zf_flow_report (report, line, col, "bad YAML: %s (#%X)", problem,
                            (unsigned)parser->problem_value);
        else
            zf_flow_report (report, line, col, "bad YAML: %s", problem);
        return;
    }
    uint32_t line = (uint32_t)parser->problem_mark.line + 1;
    uint32_t col = (uint32_t)parser->problem_mark.column + 1;
    if (parser->context)
        zf_flow_report (report, line, col, "bad YAML: %s (%s at %u:%u)", problem, parser->context,
                        (unsigned)parser->context_mark.line + 1,
                        (unsigned)parser->context_mark.column + 1);
    else
        zf_flow_report (report, line, col, "bad YAML: %s", problem);
}

int
zf_flow_tree_load (zf_flow_tree_t *self, const char *text, size_t size, zf_flow_report_t *report)
{
    memset (self, 0, sizeof *self);
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser)) {
        zf_flow_report (report, 0, 0, "out of memory reading the flow file");
        return -1;
    }
    //  libyaml finds the encoding itself, and skips a byte order mark.
    yaml_parser_set_input_string (&parser, (const unsigned char *)text, size);

    //  The open collections, innermost last, and the last child of each.
    uint32_t parents[ZF_FLOW_MAX_DEPTH];
    uint32_t last[ZF_FLOW_MAX_DEPTH];
    int depth = 0;
    int documents = 0;
    int rc = 1;
    bool done = false;
    while (!done) {
        yaml_event_t event;
        if (!yaml_parser_parse (&parser, &event)) {
            s_yaml_error (&parser, text, size, report);
            rc = -1;
            break;
        }
        const yaml_mark_t *mark = &event.start_mark;
        uint32_t line = (uint32_t)mark->line + 1;
        uint32_t col = (uint32_t)mark->column + 1;
        bool oom = false;
        switch (event.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            //  The first document is the flow; a second one is an error
            //  and ends the reading, the first is still checked.
            if (++documents > 1) {
                zf_flow_report (report, line, col,
                                "more than one YAML document (a flow file holds one)");
                done = true;
            } else
                rc = 0;
            break;
        case YAML_SCALAR_EVENT: {
            uint32_t index = s_append (self, ZF_NODE_SCALAR, mark, parents, last, depth);
            if (index == UINT32_MAX) {
                oom = true;
                break;
            }
            zf_flow_node_t *node = &self->nodes[index];
            if (event.data.scalar.tag) {
                s_tag_error (report, mark, event.data.scalar.tag);
                node->kind = ZF_NODE_BAD;
            }
            node->plain =
                event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !event.data.scalar.tag;
            oom = s_store (self, node, event.data.scalar.value, event.data.scalar.length) != 0;
            break;
        }
        case YAML_ALIAS_EVENT: {
            zf_flow_report (report, line, col,
                            "aliases are not used in flow files: write the value out");
            uint32_t index = s_append (self, ZF_NODE_BAD, mark, parents, last, depth);
            oom = index == UINT32_MAX;
            if (!oom) oom = s_store (self, &self->nodes[index], (const unsigned char *)"", 0) != 0;
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (depth == ZF_FLOW_MAX_DEPTH) {
                zf_flow_report (report, line, col,
                                "nesting deeper than ZF_FLOW_MAX_DEPTH (%d levels)",
                                ZF_FLOW_MAX_DEPTH);
                rc = -1;
                done = true;
                break;
            }
            bool list = event.type == YAML_SEQUENCE_START_EVENT;
            const yaml_char_t *tag =
                list ? event.data.sequence_start.tag : event.data.mapping_start.tag;
            uint8_t kind = list ? ZF_NODE_LIST : ZF_NODE_MAP;
            if (tag) {
                s_tag_error (report, mark, tag);
                kind = ZF_NODE_BAD;
            }
            uint32_t index = s_append (self, kind, mark, parents, last, depth);
            if (index == UINT32_MAX) {
                oom = true;
                break;
            }
            parents[depth] = index;
            last[depth] = 0;
            depth++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            assert (depth > 0);
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete (&event);
        if (oom) {
            zf_flow_report (report, 0, 0, "out of memory reading the flow file");
            rc = -1;
            done = true;
        }
    }
    yaml_parser_delete (&parser);
    if (rc != 0) zf_flow_tree_free (self);
    return rc;
}

void
zf_flow_tree_free (zf_flow_tree_t *self)
{
    free (self->nodes);
    free (self->pool);
    memset (self, 0, sizeof *self);
}
