/*  flow_internal.h - what the files of libs/flow share, and nobody else sees.

    A flow file is read in two steps. flow_yaml.c turns libyaml's events into a
    compact tree of nodes (scalars, lists, mappings, each with its line and
    column), refusing what flow files never need (aliases, tags, deep nesting).
    zf_flow.c then checks that tree against the flow format and builds the
    zf_flow_t. Both report problems through one zf_flow_report_t.
*/
#ifndef ZF_FLOW_INTERNAL_H_INCLUDED
#define ZF_FLOW_INTERNAL_H_INCLUDED

#include "zf_flow.h"

//  Where errors go while one file is parsed.
typedef struct {
    const char *path;         //  the name in messages
    zf_flow_errors_t *errors; //  the caller's list, or NULL to count only
    uint32_t found;           //  every error reported, kept or not
} zf_flow_report_t;

//  Adds "path:line:col: message" to the report ("path: message" when line is 0).
void zf_flow_report (zf_flow_report_t *self, uint32_t line, uint32_t col, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

typedef enum {
    ZF_NODE_SCALAR = 0, //  a value
    ZF_NODE_LIST = 1,   //  a sequence
    ZF_NODE_MAP = 2,    //  a mapping: children alternate key, value
    ZF_NODE_BAD = 3     //  something already reported (an alias, a tag)
} zf_flow_node_kind_t;

//  One node. Nodes are stored in document order, so a collection's first child
//  (when it has one) is the node right after it; the rest follow through next.
typedef struct {
    uint8_t kind;  //  a zf_flow_node_kind_t
    uint8_t plain; //  scalar written plain and untagged: may be a number or null
    uint32_t line; //  where the node starts (1-based)
    uint32_t col;  //  and its column (1-based)
    uint32_t text; //  scalar: offset of its nul-terminated text in the pool
    uint32_t size; //  scalar: bytes of text; collection: number of children
    uint32_t next; //  the next sibling, or 0 (node 0 is the root, never a sibling)
} zf_flow_node_t;

//  The nodes of one document.
typedef struct {
    zf_flow_node_t *nodes; //  node 0 is the root
    uint32_t count;        //  nodes in use
    uint32_t alloc;        //  nodes allocated
    char *pool;            //  scalar texts, each nul-terminated
    size_t pool_size;      //  bytes of pool in use
    size_t pool_alloc;     //  bytes of pool allocated
} zf_flow_tree_t;

//  Reads the text into the tree. Returns 0 when the tree holds a document
//  (possibly with BAD nodes already reported), 1 when the text holds no
//  document at all, -1 after a YAML error (reported) left no usable tree.
int zf_flow_tree_load (zf_flow_tree_t *self, const char *text, size_t size,
                       zf_flow_report_t *report);

//  Frees what the tree holds.
void zf_flow_tree_free (zf_flow_tree_t *self);

//  The text of a scalar node.
static inline const char *
zf_flow_node_text (const zf_flow_tree_t *tree, uint32_t node)
{
    return tree->pool + tree->nodes[node].text;
}

#endif
