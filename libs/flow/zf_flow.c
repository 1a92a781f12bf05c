/*  zf_flow.c - checks a flow file against the flow format and builds a zf_flow_t.

    The file is first read into a tree (flow_yaml.c); this file walks the tree
    once, key by key, and keeps going after each error so that one run shows
    every problem of the file. Values a task leaves out come from defaults,
    then from the built-in defaults. Dependencies are resolved after all ids
    are known (through a hash, so 100,000 tasks cost no more than a pass), and
    the same-date dependency graph is ordered with Kahn's algorithm; whatever
    that cannot order lies on or behind a cycle, which a depth-first search
    then names.
*/
#include "flow_internal.h"
#include "zf_limits.h"
#include "zf_time.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Built-in defaults for what neither a task nor defaults sets.
#define S_DEFAULT_TIMEOUT_MS     0
#define S_DEFAULT_RETRIES        0
#define S_DEFAULT_RETRY_DELAY_MS 10000

//  Bytes of a value quoted in a message (it is cut, with "...", beyond).
#define S_SHOW_CHARS 40
#define S_SHOW_SIZE  (S_SHOW_CHARS * 4 + 8)

//  A cycle longer than this is shown by its ends, with a count of the middle.
#define S_CYCLE_SHOWN 12

//  The keys of each mapping of the format, as documented.
enum { R_FLOW, R_TIMEZONE, R_CALENDAR, R_DEFAULTS, R_TASKS, R_COUNT };
static const char *const s_root_keys[R_COUNT] = {"flow", "timezone", "calendar", "defaults",
                                                 "tasks"};
enum { C_WEEKDAYS, C_HOLIDAYS, C_COUNT };
static const char *const s_calendar_keys[C_COUNT] = {"weekdays", "holidays"};
enum { D_TIMEOUT, D_RETRIES, D_RETRY_DELAY, D_COUNT };
static const char *const s_defaults_keys[D_COUNT] = {"timeout", "retries", "retry_delay"};
enum {
    T_ID,
    T_TYPE,
    T_AFTER,
    T_NOT_BEFORE,
    T_RUN,
    T_SERVICE,
    T_SHARDS,
    T_TIMEOUT,
    T_RETRIES,
    T_RETRY_DELAY,
    T_ROLLBACK,
    T_SPECULATIVE,
    T_COUNT
};
static const char *const s_task_keys[T_COUNT] = {
    "id",     "type",    "after",   "not_before",  "run",      "service",
    "shards", "timeout", "retries", "retry_delay", "rollback", "speculative"};

//  The state of one parse.
typedef struct {
    zf_flow_report_t report; //  where errors go
    zf_flow_tree_t tree;     //  the document
    zf_flow_t *flow;         //  what is being built
    bool oom;                //  an allocation failed, so the parse fails
    uint32_t *after_lists;   //  per task: the node of its after list, or 0
    int32_t start_task;      //  the start task, or -1
    int32_t day_roll_task;   //  the day_roll task, or -1
} s_parser_t;

//  What a mapping's known keys hold: node indices, 0 where a key is absent.
typedef struct {
    uint32_t key[T_COUNT];   //  the key's node
    uint32_t value[T_COUNT]; //  its value's node
} s_fields_t;

//  A node of the tree, by index.
static inline zf_flow_node_t *
s_node (s_parser_t *self, uint32_t node)
{
    return &self->tree.nodes[node];
}

//  A scalar's text.
static inline const char *
s_text_of (s_parser_t *self, uint32_t node)
{
    return zf_flow_node_text (&self->tree, node);
}

//  The first child of a collection (0 when it has none), then the next sibling.
static inline uint32_t
s_first (s_parser_t *self, uint32_t node)
{
    return s_node (self, node)->size ? node + 1 : 0;
}

static inline uint32_t
s_next (s_parser_t *self, uint32_t node)
{
    return s_node (self, node)->next;
}

//  Allocation that records failure, so the parse can end with one clear error.
static void *
s_calloc (s_parser_t *self, size_t count, size_t size)
{
    void *memory = calloc (count ? count : 1, size);
    if (!memory) self->oom = true;
    return memory;
}

static char *
s_strdup (s_parser_t *self, const char *text)
{
    char *copy = strdup (text);
    if (!copy) self->oom = true;
    return copy;
}

//  True if a further error would only be counted, not kept: callers skip
//  building long messages then.
static bool
s_quiet (s_parser_t *self)
{
    return !self->report.errors || self->report.errors->count >= ZF_MAX_FLOW_ERRORS;
}

//  Writes text for a message: on one line, control bytes escaped, at most
//  S_SHOW_CHARS characters (then "..."), in single quotes.
static const char *
s_show_text (const char *text, size_t size, char *buf)
{
    size_t out = 0, chars = 0;
    buf[out++] = '\'';
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xc0) != 0x80 && chars++ == S_SHOW_CHARS) {
            memcpy (buf + out, "...", 3);
            out += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f)
            out += (size_t)snprintf (buf + out, 5, "\\x%02x", c);
        else
            buf[out++] = (char)c;
    }
    buf[out++] = '\'';
    buf[out] = 0;
    return buf;
}

//  Writes a scalar node for a message, as s_show_text does.
static const char *
s_show (s_parser_t *self, uint32_t node, char *buf)
{
    return s_show_text (s_text_of (self, node), s_node (self, node)->size, buf);
}

//  True for a plain scalar that YAML reads as null (an empty value, ~, null).
static bool
s_is_null (s_parser_t *self, uint32_t node)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind != ZF_NODE_SCALAR || !n->plain) return false;
    const char *text = s_text_of (self, node);
    return n->size == 0 || strcmp (text, "~") == 0 || strcmp (text, "null") == 0 ||
           strcmp (text, "Null") == 0 || strcmp (text, "NULL") == 0;
}

//  Says what a node is, for "got ..." in messages.
static const char *
s_got (s_parser_t *self, uint32_t node, char *buf)
{
    switch (s_node (self, node)->kind) {
    case ZF_NODE_LIST:
        return "a list";
    case ZF_NODE_MAP:
        return "a mapping";
    default:
        return s_is_null (self, node) ? "nothing" : s_show (self, node, buf);
    }
}

//  Reports a value of the wrong kind: "FIELD WHERE must be WANT, got ...".
static void
s_wrong (s_parser_t *self, uint32_t node, const char *field, const char *where, const char *want)
{
    char buf[S_SHOW_SIZE];
    zf_flow_report (&self->report, s_node (self, node)->line, s_node (self, node)->col,
                    "%s%s must be %s, got %s", field, where, want, s_got (self, node, buf));
}

//  Edit distance of two short words, for "did you mean" hints.
static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    size_t row[33];
    assert (lb < 33);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = diagonal + (a[i - 1] != b[j - 1]);
            size_t best = above + 1 < row[j - 1] + 1 ? above + 1 : row[j - 1] + 1;
            row[j] = cost < best ? cost : best;
            diagonal = above;
        }
    }
    return row[lb];
}

//  Reports a key the format does not have, with the nearest known key when one
//  is close, else the list of known keys.
static void
s_unknown_key (s_parser_t *self, uint32_t key, const char *const *names, int count,
               const char *where)
{
    char buf[S_SHOW_SIZE];
    zf_flow_node_t *n = s_node (self, key);
    const char *text = s_text_of (self, key);
    //  Close means at most two edits, three for words of five letters or more
    //  ("retry" for "retries").
    int best = -1;
    size_t best_distance = n->size >= 5 ? 4 : 3;
    if (n->size <= 32 && strlen (text) == n->size)
        for (int i = 0; i < count; i++) {
            size_t distance = s_distance (text, names[i]);
            if (distance < best_distance) {
                best = i;
                best_distance = distance;
            }
        }
    if (best >= 0) {
        zf_flow_report (&self->report, n->line, n->col, "unknown key %s%s (did you mean '%s'?)",
                        s_show (self, key, buf), where, names[best]);
        return;
    }
    char known[256] = "";
    size_t used = 0;
    for (int i = 0; i < count; i++) {
        used +=
            (size_t)snprintf (known + used, sizeof known - used, "%s%s", i ? ", " : "", names[i]);
        assert (used < sizeof known);
    }
    zf_flow_report (&self->report, n->line, n->col, "unknown key %s%s (known keys: %s)",
                    s_show (self, key, buf), where, known);
}

//  Collects the known keys of a mapping, reporting unknown, duplicate and
//  malformed keys. The caller has checked that map is a mapping.
static void
s_fields (s_parser_t *self, uint32_t map, const char *const *names, int count, const char *where,
          s_fields_t *fields)
{
    assert (count <= T_COUNT);
    memset (fields, 0, sizeof *fields);
    for (uint32_t key = s_first (self, map); key; key = s_next (self, s_next (self, key))) {
        uint32_t value = s_next (self, key);
        assert (value);
        zf_flow_node_t *k = s_node (self, key);
        if (k->kind == ZF_NODE_BAD) continue;
        if (k->kind != ZF_NODE_SCALAR || s_is_null (self, key)) {
            char buf[S_SHOW_SIZE];
            zf_flow_report (&self->report, k->line, k->col, "keys%s must be names, got %s", where,
                            s_got (self, key, buf));
            continue;
        }
        const char *text = s_text_of (self, key);
        int found = -1;
        for (int i = 0; i < count && found < 0; i++)
            if (strcmp (text, names[i]) == 0 && strlen (names[i]) == k->size) found = i;
        if (found < 0)
            s_unknown_key (self, key, names, count, where);
        else if (fields->key[found]) {
            zf_flow_node_t *first = s_node (self, fields->key[found]);
            zf_flow_report (&self->report, k->line, k->col, "duplicate key '%s'%s (first at %u:%u)",
                            names[found], where, first->line, first->col);
        } else {
            fields->key[found] = key;
            fields->value[found] = value;
        }
    }
}

//  A scalar usable as text: not null, no NUL byte, at most max bytes (limit
//  names max in messages). Returns the text, or NULL after reporting.
static const char *
s_string (s_parser_t *self, uint32_t node, const char *field, const char *where, size_t max,
          const char *limit)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind == ZF_NODE_BAD) return NULL;
    if (n->kind != ZF_NODE_SCALAR) {
        s_wrong (self, node, field, where, "text");
        return NULL;
    }
    const char *text = s_text_of (self, node);
    if (s_is_null (self, node) || n->size == 0)
        zf_flow_report (&self->report, n->line, n->col, "%s%s must not be empty", field, where);
    else if (strlen (text) != n->size)
        zf_flow_report (&self->report, n->line, n->col, "%s%s contains a NUL character", field,
                        where);
    else if (n->size > max)
        zf_flow_report (&self->report, n->line, n->col, "%s%s is longer than %s (%zu bytes)", field,
                        where, limit, max);
    else
        return text;
    return NULL;
}

//  True if text is a name: 1 to ZF_MAX_NAME characters of a-z, 0-9, '_', '-'.
static bool
s_is_name (const char *text, size_t size)
{
    if (size == 0 || size > ZF_MAX_NAME) return false;
    for (size_t i = 0; i < size; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

//  A name (flow, task id, service); returns a copy, or NULL after reporting.
static char *
s_name (s_parser_t *self, uint32_t node, const char *what, const char *where)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind == ZF_NODE_BAD) return NULL;
    if (n->kind != ZF_NODE_SCALAR || s_is_null (self, node)) {
        s_wrong (self, node, what, where, "text");
        return NULL;
    }
    if (!s_is_name (s_text_of (self, node), n->size)) {
        char buf[S_SHOW_SIZE];
        zf_flow_report (&self->report, n->line, n->col,
                        "bad %s %s%s (use a-z, 0-9, '_' and '-', at most ZF_MAX_NAME (%d) "
                        "characters)",
                        what, s_show (self, node, buf), where, ZF_MAX_NAME);
        return NULL;
    }
    return s_strdup (self, s_text_of (self, node));
}

//  Reads a plain decimal integer without sign; 0, or -1 if the node is not one.
static int
s_parse_count (s_parser_t *self, uint32_t node, uint64_t *out)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind != ZF_NODE_SCALAR || !n->plain || n->size == 0 || n->size > 19) return -1;
    const char *text = s_text_of (self, node);
    uint64_t value = 0;
    for (uint32_t i = 0; i < n->size; i++) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (uint64_t)(text[i] - '0');
    }
    *out = value;
    return 0;
}

//  A whole number from 0 to max (named by limit). Returns 0, or -1 after reporting.
static int
s_integer (s_parser_t *self, uint32_t node, const char *field, const char *where, uint64_t max,
           const char *limit, uint32_t *out)
{
    if (s_node (self, node)->kind == ZF_NODE_BAD) return -1;
    uint64_t value;
    if (s_parse_count (self, node, &value) == 0 && value <= max) {
        *out = (uint32_t)value;
        return 0;
    }
    char buf[S_SHOW_SIZE];
    zf_flow_report (&self->report, s_node (self, node)->line, s_node (self, node)->col,
                    "%s%s must be a whole number from 0 to %s (%llu), got %s", field, where, limit,
                    (unsigned long long)max, s_got (self, node, buf));
    return -1;
}

//  A duration ("500ms", "30s", "10m", "2h", "1d"). Returns 0, or -1 after reporting.
static int
s_duration (s_parser_t *self, uint32_t node, const char *field, const char *where, int64_t *out)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind == ZF_NODE_BAD) return -1;
    if (n->kind != ZF_NODE_SCALAR || s_is_null (self, node)) {
        s_wrong (self, node, field, where, "a duration such as 500ms, 30s, 10m or 2h");
        return -1;
    }
    const char *text = s_text_of (self, node);
    if (strlen (text) == n->size && zf_duration_parse (text, out) == 0) return 0;
    char buf[S_SHOW_SIZE];
    zf_flow_report (&self->report, n->line, n->col,
                    "bad duration %s for %s%s (want 0, or a whole number and a unit: 500ms, 30s, "
                    "10m, 2h or 1d)",
                    s_show (self, node, buf), field, where);
    return -1;
}

//  true or false, written plain. Returns 0, or -1 after reporting.
static int
s_boolean (s_parser_t *self, uint32_t node, const char *field, const char *where, bool *out)
{
    zf_flow_node_t *n = s_node (self, node);
    if (n->kind == ZF_NODE_BAD) return -1;
    const char *text = s_text_of (self, node);
    if (n->kind == ZF_NODE_SCALAR && n->plain) {
        if (strcmp (text, "true") == 0 || strcmp (text, "True") == 0 ||
            strcmp (text, "TRUE") == 0) {
            *out = true;
            return 0;
        }
        if (strcmp (text, "false") == 0 || strcmp (text, "False") == 0 ||
            strcmp (text, "FALSE") == 0) {
            *out = false;
            return 0;
        }
    }
    s_wrong (self, node, field, where, "true or false");
    return -1;
}

//  True if node is a list; otherwise reports it (unless already reported).
static bool
s_list (s_parser_t *self, uint32_t node, const char *field, const char *where, const char *want)
{
    uint8_t kind = s_node (self, node)->kind;
    if (kind == ZF_NODE_LIST) return true;
    if (kind != ZF_NODE_BAD) s_wrong (self, node, field, where, want);
    return false;
}

//  ---------------------------------------------------------------------------
//  Hashing. Ids live in the flow's index; shard keys and dependency targets
//  are checked for repeats with short-lived tables of the same shape.

//  FNV-1a: short ids spread well, and it needs no nul.
static uint32_t
s_hash (const char *text, size_t size)
{
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ (unsigned char)text[i]) * 16777619u;
    return hash;
}

//  Slots for n entries: a power of two, at least twice n.
static uint32_t
s_slots_for (uint32_t n)
{
    uint32_t slots = 16;
    while (slots < n * 2)
        slots *= 2;
    return slots;
}

int32_t
zf_flow_task_index (const zf_flow_t *self, const char *id)
{
    if (!self || !id || !self->index) return -1;
    size_t size = strlen (id);
    for (uint32_t slot = s_hash (id, size) & self->index_mask;;
         slot = (slot + 1) & self->index_mask) {
        uint32_t entry = self->index[slot];
        if (!entry) return -1;
        const char *other = self->tasks[entry - 1].id;
        if (strncmp (other, id, size) == 0 && other[size] == 0) return (int32_t)(entry - 1);
    }
}

//  Looks an id up by a prefix of a text (the part of "x@-2" before the '@').
static int32_t
s_lookup (const zf_flow_t *flow, const char *text, size_t size)
{
    for (uint32_t slot = s_hash (text, size) & flow->index_mask;;
         slot = (slot + 1) & flow->index_mask) {
        uint32_t entry = flow->index[slot];
        if (!entry) return -1;
        const char *other = flow->tasks[entry - 1].id;
        if (strncmp (other, text, size) == 0 && other[size] == 0) return (int32_t)(entry - 1);
    }
}

//  Adds task i under its id. Returns the task already holding the id, or -1.
static int32_t
s_index_add (zf_flow_t *flow, uint32_t i)
{
    const char *id = flow->tasks[i].id;
    size_t size = strlen (id);
    uint32_t slot = s_hash (id, size) & flow->index_mask;
    for (; flow->index[slot]; slot = (slot + 1) & flow->index_mask)
        if (strcmp (flow->tasks[flow->index[slot] - 1].id, id) == 0)
            return (int32_t)(flow->index[slot] - 1);
    flow->index[slot] = i + 1;
    return -1;
}

//  ---------------------------------------------------------------------------
//  The calendar, defaults and the flow's own keys.

//  Orders holidays by date, then by where they were written.
static int
s_compare_holidays (const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

//  The calendar: business weekdays and holidays.
static void
s_calendar (s_parser_t *self, uint32_t node)
{
    zf_flow_t *flow = self->flow;
    if (s_node (self, node)->kind != ZF_NODE_MAP) {
        if (s_node (self, node)->kind != ZF_NODE_BAD)
            s_wrong (self, node, "calendar", "", "a mapping (weekdays, holidays)");
        return;
    }
    s_fields_t fields;
    s_fields (self, node, s_calendar_keys, C_COUNT, " in calendar", &fields);

    uint32_t weekdays = fields.value[C_WEEKDAYS];
    if (weekdays && s_list (self, weekdays, "weekdays", " in calendar", "a list of weekdays")) {
        uint32_t first[7] = {0};
        flow->weekdays = 0;
        if (!s_first (self, weekdays)) {
            zf_flow_report (&self->report, s_node (self, weekdays)->line,
                            s_node (self, weekdays)->col,
                            "weekdays in calendar must not be empty (list the business weekdays)");
        }
        for (uint32_t item = s_first (self, weekdays); item; item = s_next (self, item)) {
            const char *text =
                s_string (self, item, "a weekday", " in calendar", ZF_MAX_TEXT, "ZF_MAX_TEXT");
            if (!text) continue;
            char buf[S_SHOW_SIZE];
            int day = zf_weekday_parse (text);
            zf_flow_node_t *n = s_node (self, item);
            if (day < 0)
                zf_flow_report (&self->report, n->line, n->col,
                                "bad weekday %s in calendar (want mon, tue, wed, thu, fri, sat or "
                                "sun)",
                                s_show (self, item, buf));
            else if (first[day])
                zf_flow_report (&self->report, n->line, n->col,
                                "duplicate weekday '%s' in calendar (first at %u:%u)", text,
                                s_node (self, first[day])->line, s_node (self, first[day])->col);
            else {
                first[day] = item;
                flow->weekdays |= (uint8_t)(1u << day);
            }
        }
    }

    uint32_t holidays = fields.value[C_HOLIDAYS];
    if (holidays && s_list (self, holidays, "holidays", " in calendar", "a list of dates")) {
        uint32_t count = s_node (self, holidays)->size;
        if (count > ZF_MAX_HOLIDAYS) count = ZF_MAX_HOLIDAYS;
        //  Each entry: the date in the high half, its node in the low half, so
        //  one sort orders by date and, among repeats, by position in the file.
        uint64_t *entries = s_calloc (self, count, sizeof *entries);
        if (!entries) return;
        uint32_t used = 0, seen = 0;
        for (uint32_t item = s_first (self, holidays); item; item = s_next (self, item)) {
            zf_flow_node_t *n = s_node (self, item);
            if (seen++ == ZF_MAX_HOLIDAYS) {
                zf_flow_report (&self->report, n->line, n->col,
                                "more than ZF_MAX_HOLIDAYS (%d) holidays in calendar",
                                ZF_MAX_HOLIDAYS);
                break;
            }
            const char *text =
                s_string (self, item, "a holiday", " in calendar", ZF_MAX_TEXT, "ZF_MAX_TEXT");
            zf_date_t date;
            if (!text) continue;
            if (zf_date_parse (text, &date) != 0) {
                char buf[S_SHOW_SIZE];
                zf_flow_report (&self->report, n->line, n->col,
                                "bad date %s in calendar holidays (want YYYY-MM-DD, a real date "
                                "from 1970-01-01 to 9999-12-31)",
                                s_show (self, item, buf));
                continue;
            }
            entries[used++] = (uint64_t)date << 32 | item;
        }
        qsort (entries, used, sizeof *entries, s_compare_holidays);
        flow->holidays = s_calloc (self, used, sizeof *flow->holidays);
        for (uint32_t i = 0; flow->holidays && i < used; i++) {
            zf_date_t date = (zf_date_t)(entries[i] >> 32);
            if (flow->holiday_count && flow->holidays[flow->holiday_count - 1] == date) {
                zf_flow_node_t *n = s_node (self, (uint32_t)entries[i]);
                zf_flow_node_t *first = s_node (self, (uint32_t)entries[i - 1]);
                char buf[ZF_DATE_TEXT];
                zf_flow_report (&self->report, n->line, n->col,
                                "duplicate holiday '%s' in calendar (first at %u:%u)",
                                zf_date_format (date, buf, sizeof buf), first->line, first->col);
                //  Repeats chain: point each at the first, not its neighbour.
                entries[i] = entries[i - 1];
            } else
                flow->holidays[flow->holiday_count++] = date;
        }
        free (entries);
    }
}

//  defaults: what tasks inherit when they leave a value out.
static void
s_defaults (s_parser_t *self, uint32_t node)
{
    zf_flow_t *flow = self->flow;
    if (s_node (self, node)->kind != ZF_NODE_MAP) {
        if (s_node (self, node)->kind != ZF_NODE_BAD)
            s_wrong (self, node, "defaults", "", "a mapping (timeout, retries, retry_delay)");
        return;
    }
    s_fields_t fields;
    s_fields (self, node, s_defaults_keys, D_COUNT, " in defaults", &fields);
    if (fields.value[D_TIMEOUT])
        s_duration (self, fields.value[D_TIMEOUT], "timeout", " in defaults",
                    &flow->default_timeout_ms);
    if (fields.value[D_RETRIES])
        s_integer (self, fields.value[D_RETRIES], "retries", " in defaults", ZF_MAX_RETRIES,
                   "ZF_MAX_RETRIES", &flow->default_retries);
    if (fields.value[D_RETRY_DELAY])
        s_duration (self, fields.value[D_RETRY_DELAY], "retry_delay", " in defaults",
                    &flow->default_retry_delay_ms);
}

//  ---------------------------------------------------------------------------
//  Tasks.

//  Splits a dependency "id" or "id@-N" into the id's length and N (0 for a
//  plain id). Returns 0, or -1 if the text is neither form.
static int
s_dep_split (const char *text, size_t size, size_t *id_size, uint16_t *offset)
{
    const char *at = memchr (text, '@', size);
    size_t length = at ? (size_t)(at - text) : size;
    if (!s_is_name (text, length)) return -1;
    *id_size = length;
    *offset = 0;
    if (!at) return 0;
    const char *digits = at + 1;
    size_t count = size - length - 1;
    if (count < 2 || digits[0] != '-' || count > 5) return -1;
    uint32_t value = 0;
    for (size_t i = 1; i < count; i++) {
        if (digits[i] < '0' || digits[i] > '9') return -1;
        value = value * 10 + (uint32_t)(digits[i] - '0');
    }
    if (value < 1 || value > ZF_MAX_DATE_OFFSET) return -1;
    *offset = (uint16_t)value;
    return 0;
}

//  The shards of a task: a count, or a list of distinct keys.
static void
s_shards (s_parser_t *self, uint32_t node, const char *where, zf_flow_task_t *task)
{
    zf_flow_node_t *n = s_node (self, node);
    char buf[S_SHOW_SIZE];
    if (n->kind == ZF_NODE_BAD) return;
    if (n->kind == ZF_NODE_SCALAR) {
        uint64_t count;
        if (s_parse_count (self, node, &count) == 0 && count >= 1 && count <= ZF_MAX_SHARDS)
            task->shard_count = (uint32_t)count;
        else
            zf_flow_report (&self->report, n->line, n->col,
                            "shards%s must be a count from 1 to ZF_MAX_SHARDS (%d) or a list of "
                            "keys, got %s",
                            where, ZF_MAX_SHARDS, s_got (self, node, buf));
        return;
    }
    if (n->kind != ZF_NODE_LIST) {
        s_wrong (self, node, "shards", where, "a count or a list of keys");
        return;
    }
    if (n->size == 0) {
        zf_flow_report (&self->report, n->line, n->col, "shards%s must not be an empty list",
                        where);
        return;
    }
    uint32_t count = n->size > ZF_MAX_SHARDS ? ZF_MAX_SHARDS : n->size;
    uint32_t slots = s_slots_for (count);
    uint32_t *table = s_calloc (self, slots, sizeof *table);
    char **keys = s_calloc (self, count, sizeof *keys);
    uint32_t used = 0;
    for (uint32_t item = s_first (self, node); item && table && keys; item = s_next (self, item)) {
        zf_flow_node_t *k = s_node (self, item);
        if (used == ZF_MAX_SHARDS) {
            zf_flow_report (&self->report, k->line, k->col,
                            "more than ZF_MAX_SHARDS (%d) shard keys%s", ZF_MAX_SHARDS, where);
            break;
        }
        const char *text =
            s_string (self, item, "a shard key", where, ZF_MAX_SHARD_KEY, "ZF_MAX_SHARD_KEY");
        if (!text) continue;
        uint32_t slot = s_hash (text, k->size) & (slots - 1);
        while (table[slot] && strcmp (s_text_of (self, table[slot]), text) != 0)
            slot = (slot + 1) & (slots - 1);
        if (table[slot]) {
            zf_flow_node_t *first = s_node (self, table[slot]);
            zf_flow_report (&self->report, k->line, k->col,
                            "duplicate shard key %s%s (first at %u:%u)", s_show (self, item, buf),
                            where, first->line, first->col);
            continue;
        }
        table[slot] = item;
        keys[used++] = s_strdup (self, text);
    }
    free (table);
    if (used == 0) {
        //  Every key was refused (and reported): the task stays unsharded.
        free (keys);
        return;
    }
    task->shard_keys = keys;
    task->shard_count = used;
}

//  Builds task i from its mapping.
static void
s_task (s_parser_t *self, uint32_t node, uint32_t i)
{
    zf_flow_t *flow = self->flow;
    zf_flow_task_t *task = &flow->tasks[i];
    zf_flow_node_t *n = s_node (self, node);
    task->line = n->line;
    task->col = n->col;
    task->not_before = -1;
    task->shard_count = 1;
    task->timeout_ms = flow->default_timeout_ms;
    task->retries = flow->default_retries;
    task->retry_delay_ms = flow->default_retry_delay_ms;
    if (n->kind != ZF_NODE_MAP) {
        if (n->kind != ZF_NODE_BAD)
            s_wrong (self, node, "each task", "", "a mapping (id, after, run, ...)");
        return;
    }

    //  Messages name the task by its id when it has a usable one, else by its
    //  place in the list; so look for the id first.
    char name[ZF_MAX_NAME + 16];
    snprintf (name, sizeof name, "task #%u", i + 1);
    for (uint32_t key = s_first (self, node); key; key = s_next (self, s_next (self, key))) {
        uint32_t value = s_next (self, key);
        if (s_node (self, key)->kind == ZF_NODE_SCALAR &&
            strcmp (s_text_of (self, key), "id") == 0 &&
            s_node (self, value)->kind == ZF_NODE_SCALAR &&
            s_is_name (s_text_of (self, value), s_node (self, value)->size)) {
            snprintf (name, sizeof name, "task '%s'", s_text_of (self, value));
            break;
        }
    }
    char where[sizeof name + 4];
    snprintf (where, sizeof where, " in %s", name);

    s_fields_t fields;
    s_fields (self, node, s_task_keys, T_COUNT, where, &fields);
    const uint32_t *value = fields.value;

    if (!value[T_ID])
        zf_flow_report (&self->report, n->line, n->col, "%s has no id", name);
    else if ((task->id = s_name (self, value[T_ID], "task id", "")) != NULL) {
        int32_t first = s_index_add (flow, i);
        if (first >= 0)
            zf_flow_report (&self->report, s_node (self, value[T_ID])->line,
                            s_node (self, value[T_ID])->col,
                            "duplicate task id '%s' (first at %u:%u)", task->id,
                            flow->tasks[first].line, flow->tasks[first].col);
    }

    bool builtin = false;
    if (value[T_TYPE]) {
        const char *text =
            s_string (self, value[T_TYPE], "type", where, ZF_MAX_TEXT, "ZF_MAX_TEXT");
        zf_flow_node_t *t = s_node (self, value[T_TYPE]);
        int32_t *slot = NULL;
        if (text && strcmp (text, "start") == 0) {
            task->type = ZF_TASK_START;
            slot = &self->start_task;
        } else if (text && strcmp (text, "day_roll") == 0) {
            task->type = ZF_TASK_DAY_ROLL;
            slot = &self->day_roll_task;
        } else if (text) {
            char buf[S_SHOW_SIZE];
            zf_flow_report (&self->report, t->line, t->col,
                            "bad type %s%s (want start or day_roll)",
                            s_show (self, value[T_TYPE], buf), where);
        }
        if (slot) {
            builtin = true;
            if (*slot >= 0)
                zf_flow_report (&self->report, t->line, t->col,
                                "more than one %s task (the first is at %u:%u)", text,
                                flow->tasks[*slot].line, flow->tasks[*slot].col);
            else
                *slot = (int32_t)i;
        }
    }

    if (value[T_AFTER] && s_list (self, value[T_AFTER], "after", where, "a list of task ids")) {
        uint32_t seen = 0;
        for (uint32_t item = s_first (self, value[T_AFTER]); item; item = s_next (self, item)) {
            zf_flow_node_t *d = s_node (self, item);
            if (seen++ == ZF_MAX_DEPS) {
                zf_flow_report (&self->report, d->line, d->col,
                                "more than ZF_MAX_DEPS (%d) dependencies%s", ZF_MAX_DEPS, where);
                break;
            }
            const char *text =
                s_string (self, item, "a dependency", where, ZF_MAX_TEXT, "ZF_MAX_TEXT");
            size_t id_size;
            uint16_t offset;
            if (text && s_dep_split (text, d->size, &id_size, &offset) != 0) {
                char buf[S_SHOW_SIZE];
                zf_flow_report (&self->report, d->line, d->col,
                                "bad dependency %s%s (want an id, or id@-N for N business dates "
                                "back, N from 1 to ZF_MAX_DATE_OFFSET (%d))",
                                s_show (self, item, buf), where, ZF_MAX_DATE_OFFSET);
            }
        }
        self->after_lists[i] = value[T_AFTER];
    }

    if (value[T_NOT_BEFORE]) {
        const char *text =
            s_string (self, value[T_NOT_BEFORE], "not_before", where, ZF_MAX_TEXT, "ZF_MAX_TEXT");
        int minutes;
        if (text && zf_tod_parse (text, &minutes) == 0)
            task->not_before = minutes;
        else if (text) {
            char buf[S_SHOW_SIZE];
            zf_flow_node_t *t = s_node (self, value[T_NOT_BEFORE]);
            zf_flow_report (&self->report, t->line, t->col,
                            "bad time of day %s for not_before%s (want HH:MM, 00:00 to 23:59)",
                            s_show (self, value[T_NOT_BEFORE], buf), where);
        }
    }
    if (value[T_RUN]) {
        const char *text =
            s_string (self, value[T_RUN], "run", where, ZF_MAX_COMMAND, "ZF_MAX_COMMAND");
        if (text) task->run = s_strdup (self, text);
    }
    if (value[T_SERVICE]) task->service = s_name (self, value[T_SERVICE], "service name", where);
    if (value[T_ROLLBACK]) {
        const char *text =
            s_string (self, value[T_ROLLBACK], "rollback", where, ZF_MAX_COMMAND, "ZF_MAX_COMMAND");
        if (text) task->rollback = s_strdup (self, text);
    }
    if (value[T_SHARDS]) s_shards (self, value[T_SHARDS], where, task);
    if (value[T_TIMEOUT]) s_duration (self, value[T_TIMEOUT], "timeout", where, &task->timeout_ms);
    if (value[T_RETRIES])
        s_integer (self, value[T_RETRIES], "retries", where, ZF_MAX_RETRIES, "ZF_MAX_RETRIES",
                   &task->retries);
    if (value[T_RETRY_DELAY])
        s_duration (self, value[T_RETRY_DELAY], "retry_delay", where, &task->retry_delay_ms);
    if (value[T_SPECULATIVE])
        s_boolean (self, value[T_SPECULATIVE], "speculative", where, &task->speculative);

    //  What runs the task: a built-in runs nothing of its own, any other task
    //  runs exactly one of a command and a service.
    if (builtin) {
        static const int refused[] = {T_RUN, T_SERVICE, T_SHARDS, T_ROLLBACK};
        for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
            uint32_t key = fields.key[refused[k]];
            if (key)
                zf_flow_report (&self->report, s_node (self, key)->line, s_node (self, key)->col,
                                "%s is a built-in %s task and runs nothing: remove %s", name,
                                task->type == ZF_TASK_START ? "start" : "day_roll",
                                s_task_keys[refused[k]]);
        }
    } else if (value[T_RUN] && value[T_SERVICE])
        zf_flow_report (&self->report, n->line, n->col, "%s has both run and service (keep one)",
                        name);
    else if (value[T_SERVICE])
        task->type = ZF_TASK_SERVICE;
    else if (!value[T_RUN] && !value[T_TYPE])
        zf_flow_report (&self->report, n->line, n->col,
                        "%s needs run (a shell command) or service (a worker's handler)", name);
}

//  The tasks list; each task lands at its index in flow->tasks.
static void
s_tasks (s_parser_t *self, uint32_t node)
{
    zf_flow_t *flow = self->flow;
    if (!s_list (self, node, "tasks", "", "a list of tasks")) return;
    zf_flow_node_t *n = s_node (self, node);
    if (n->size == 0) {
        zf_flow_report (&self->report, n->line, n->col,
                        "tasks must not be empty (a flow has at least one task)");
        return;
    }
    uint32_t count = n->size > ZF_MAX_TASKS ? ZF_MAX_TASKS : n->size;
    flow->tasks = s_calloc (self, count, sizeof *flow->tasks);
    self->after_lists = s_calloc (self, count, sizeof *self->after_lists);
    flow->index_mask = s_slots_for (count) - 1;
    flow->index = s_calloc (self, flow->index_mask + 1, sizeof *flow->index);
    if (!flow->tasks || !self->after_lists || !flow->index) return;
    uint32_t i = 0;
    for (uint32_t item = s_first (self, node); item; item = s_next (self, item), i++) {
        if (i == ZF_MAX_TASKS) {
            zf_flow_node_t *t = s_node (self, item);
            zf_flow_report (&self->report, t->line, t->col, "more than ZF_MAX_TASKS (%d) tasks",
                            ZF_MAX_TASKS);
            break;
        }
        s_task (self, item, i);
        flow->task_count = i + 1;
    }
}

//  ---------------------------------------------------------------------------
//  Dependencies and their order.

//  Orders a task's dependencies by (task, offset), then by where they stand.
static int
s_compare_keys (const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

//  Resolves every after entry to a task, reporting unknown and repeated ones.
static void
s_resolve (s_parser_t *self)
{
    zf_flow_t *flow = self->flow;
    uint32_t *entries = s_calloc (self, ZF_MAX_DEPS, sizeof *entries);
    uint64_t *keys = s_calloc (self, ZF_MAX_DEPS, sizeof *keys);
    uint32_t *repeat_of = s_calloc (self, ZF_MAX_DEPS, sizeof *repeat_of);
    for (uint32_t i = 0; i < flow->task_count && entries && keys && repeat_of; i++) {
        uint32_t list = self->after_lists[i];
        if (!list) continue;
        zf_flow_task_t *task = &flow->tasks[i];
        uint32_t count = s_node (self, list)->size;
        if (count > ZF_MAX_DEPS) count = ZF_MAX_DEPS;
        task->after = s_calloc (self, count, sizeof *task->after);
        if (!task->after) break;
        char where[ZF_MAX_NAME + 16];
        if (task->id)
            snprintf (where, sizeof where, " in task '%s'", task->id);
        else
            snprintf (where, sizeof where, " in task #%u", i + 1);
        uint32_t seen = 0;
        for (uint32_t item = s_first (self, list); item && seen < count;
             item = s_next (self, item), seen++) {
            zf_flow_node_t *d = s_node (self, item);
            size_t id_size;
            uint16_t offset;
            if (d->kind != ZF_NODE_SCALAR || strlen (s_text_of (self, item)) != d->size ||
                s_dep_split (s_text_of (self, item), d->size, &id_size, &offset) != 0)
                continue;
            int32_t target = s_lookup (flow, s_text_of (self, item), id_size);
            if (target < 0) {
                char buf[S_SHOW_SIZE];
                zf_flow_report (&self->report, d->line, d->col, "unknown dependency %s%s",
                                s_show (self, item, buf), where);
                continue;
            }
            uint32_t j = task->after_count++;
            task->after[j].task = (uint32_t)target;
            task->after[j].offset = offset;
            entries[j] = item;
            keys[j] = (uint64_t)target << 20 | (uint64_t)offset << 10 | j;
        }
        //  Repeats: sorted, equal (task, offset) pairs sit together, the one
        //  written first leading. Reported in file order.
        qsort (keys, task->after_count, sizeof *keys, s_compare_keys);
        memset (repeat_of, 0xff, task->after_count * sizeof *repeat_of);
        for (uint32_t k = 1; k < task->after_count; k++)
            if (keys[k] >> 10 == keys[k - 1] >> 10) {
                repeat_of[keys[k] & 1023] = (uint32_t)(keys[k - 1] & 1023);
                keys[k] = keys[k - 1];
            }
        for (uint32_t j = 0; j < task->after_count; j++)
            if (repeat_of[j] != UINT32_MAX) {
                char buf[S_SHOW_SIZE];
                zf_flow_node_t *d = s_node (self, entries[j]);
                zf_flow_node_t *first = s_node (self, entries[repeat_of[j]]);
                zf_flow_report (&self->report, d->line, d->col,
                                "duplicate dependency %s%s (first at %u:%u)",
                                s_show (self, entries[j], buf), where, first->line, first->col);
            }
    }
    free (entries);
    free (keys);
    free (repeat_of);
}

//  The after entry of task that names before (same date), for a cycle's position.
static zf_flow_node_t *
s_entry_naming (s_parser_t *self, uint32_t task, uint32_t before)
{
    zf_flow_t *flow = self->flow;
    uint32_t list = self->after_lists[task];
    for (uint32_t item = list ? s_first (self, list) : 0; item; item = s_next (self, item)) {
        zf_flow_node_t *d = s_node (self, item);
        size_t id_size;
        uint16_t offset;
        if (d->kind == ZF_NODE_SCALAR &&
            s_dep_split (s_text_of (self, item), d->size, &id_size, &offset) == 0 && offset == 0 &&
            s_lookup (flow, s_text_of (self, item), id_size) == (int32_t)before)
            return d;
    }
    return s_node (self, 0);
}

//  Reports one cycle: path holds its tasks in run order, each waiting for the
//  one before it and the first for the last. It is shown from the task written
//  first in the file, at the after entry that closes it there.
static void
s_report_cycle (s_parser_t *self, const uint32_t *path, uint32_t length)
{
    if (s_quiet (self)) {
        zf_flow_report (&self->report, 0, 0, "cycle");
        return;
    }
    zf_flow_t *flow = self->flow;
    uint32_t start = 0;
    for (uint32_t k = 1; k < length; k++)
        if (path[k] < path[start]) start = k;
    //  Room for S_CYCLE_SHOWN + 1 ids with arrows, and the count.
    char text[(S_CYCLE_SHOWN + 1) * (ZF_MAX_NAME + 4) + 32];
    size_t used = 0;
    for (uint32_t k = 0; k <= length; k++) {
        //  Long cycles: the first S_CYCLE_SHOWN - 2 tasks, a count, the last one.
        if (length > S_CYCLE_SHOWN && k == S_CYCLE_SHOWN - 2) {
            used += (size_t)snprintf (text + used, sizeof text - used, "(%u more) -> ",
                                      length - S_CYCLE_SHOWN + 1);
            k = length - 1;
        }
        const char *id = flow->tasks[path[(start + k) % length]].id;
        used += (size_t)snprintf (text + used, sizeof text - used, "%s%s", id,
                                  k < length ? " -> " : "");
        assert (used < sizeof text);
    }
    uint32_t before = path[(start + length - 1) % length];
    zf_flow_node_t *at = s_entry_naming (self, path[start], before);
    zf_flow_report (&self->report, at->line, at->col, "cycle: %s", text);
}

//  Orders the tasks by their same-date dependencies (Kahn's algorithm) into
//  flow->topo, or reports every cycle that prevents it.
static void
s_order (s_parser_t *self)
{
    zf_flow_t *flow = self->flow;
    uint32_t n = flow->task_count;
    uint32_t *first = s_calloc (self, n + 1, sizeof *first);
    uint32_t *waiting = s_calloc (self, n, sizeof *waiting);
    uint32_t *order = s_calloc (self, n, sizeof *order);
    uint32_t edges = 0;
    for (uint32_t t = 0; t < n; t++)
        edges += flow->tasks[t].after_count;
    uint32_t *next = s_calloc (self, edges, sizeof *next);
    if (!first || !waiting || !order || !next) goto done;

    //  Successor lists in one array: next[first[t] .. first[t + 1]) follow t.
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t j = 0; j < flow->tasks[t].after_count; j++)
            if (flow->tasks[t].after[j].offset == 0) {
                first[flow->tasks[t].after[j].task + 1]++;
                waiting[t]++;
            }
    for (uint32_t t = 0; t < n; t++)
        first[t + 1] += first[t];
    uint32_t *fill = order; //  borrowed as a cursor per task until Kahn runs
    memcpy (fill, first, n * sizeof *fill);
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t j = 0; j < flow->tasks[t].after_count; j++)
            if (flow->tasks[t].after[j].offset == 0) next[fill[flow->tasks[t].after[j].task]++] = t;

    uint32_t head = 0, tail = 0;
    for (uint32_t t = 0; t < n; t++)
        if (waiting[t] == 0) order[tail++] = t;
    while (head < tail) {
        uint32_t t = order[head++];
        for (uint32_t e = first[t]; e < first[t + 1]; e++)
            if (--waiting[next[e]] == 0) order[tail++] = next[e];
    }
    if (tail == n) {
        flow->topo = order;
        order = NULL;
        goto done;
    }

    //  What Kahn's algorithm left (waiting > 0) lies on a cycle or after one.
    //  A depth-first search over just those tasks meets each cycle as an edge
    //  back to a task still on its path; each such edge is one cycle.
    uint32_t *path = order; //  reused: the search path
    uint32_t *cursor = s_calloc (self, n, sizeof *cursor);
    uint32_t *place =
        s_calloc (self, n, sizeof *place); //  0 new, 1 + depth on path, UINT32_MAX done
    if (!cursor || !place) {
        free (cursor);
        free (place);
        goto done;
    }
    for (uint32_t root = 0; root < n; root++) {
        if (waiting[root] == 0 || place[root]) continue;
        uint32_t depth = 0;
        path[depth++] = root;
        place[root] = depth;
        cursor[root] = first[root];
        while (depth) {
            uint32_t t = path[depth - 1];
            if (cursor[t] == first[t + 1]) {
                place[t] = UINT32_MAX;
                depth--;
                continue;
            }
            uint32_t u = next[cursor[t]++];
            if (waiting[u] == 0 || place[u] == UINT32_MAX) continue;
            if (place[u]) {
                s_report_cycle (self, path + place[u] - 1, depth - place[u] + 1);
                continue;
            }
            path[depth++] = u;
            place[u] = depth;
            cursor[u] = first[u];
        }
    }
    free (cursor);
    free (place);
done:
    free (first);
    free (waiting);
    free (order);
    free (next);
}

//  ---------------------------------------------------------------------------
//  The flow.

//  Checks the document's root and everything under it.
static void
s_root (s_parser_t *self)
{
    zf_flow_t *flow = self->flow;
    zf_flow_node_t *root = s_node (self, 0);
    if (root->kind == ZF_NODE_BAD) return;
    if (s_is_null (self, 0)) {
        zf_flow_report (&self->report, root->line, root->col,
                        "empty flow file (want a mapping with flow and tasks)");
        return;
    }
    if (root->kind != ZF_NODE_MAP) {
        s_wrong (self, 0, "a flow file", "", "a mapping (flow, tasks, ...)");
        return;
    }
    s_fields_t fields;
    s_fields (self, 0, s_root_keys, R_COUNT, "", &fields);
    const uint32_t *value = fields.value;

    if (!value[R_FLOW])
        zf_flow_report (&self->report, root->line, root->col,
                        "missing key 'flow' (the flow's name)");
    else
        flow->name = s_name (self, value[R_FLOW], "flow name", "");

    if (value[R_TIMEZONE]) {
        const char *text =
            s_string (self, value[R_TIMEZONE], "timezone", "", ZF_MAX_TEXT, "ZF_MAX_TEXT");
        if (text && !zf_tz_valid (text)) {
            char buf[S_SHOW_SIZE];
            zf_flow_node_t *t = s_node (self, value[R_TIMEZONE]);
            zf_flow_report (&self->report, t->line, t->col,
                            "unknown time zone %s (want an IANA name such as Europe/London)",
                            s_show (self, value[R_TIMEZONE], buf));
        } else if (text) {
            free (flow->timezone);
            flow->timezone = s_strdup (self, text);
        }
    }
    if (value[R_CALENDAR]) s_calendar (self, value[R_CALENDAR]);
    if (value[R_DEFAULTS]) s_defaults (self, value[R_DEFAULTS]);
    if (!value[R_TASKS])
        zf_flow_report (&self->report, root->line, root->col, "missing key 'tasks'");
    else
        s_tasks (self, value[R_TASKS]);
    if (flow->task_count) {
        s_resolve (self);
        s_order (self);
    }
}

//  A new, empty flow holding a copy of the text and where it came from.
static zf_flow_t *
s_flow_new (const char *text, size_t size, const char *path)
{
    zf_flow_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->path = strdup (path ? path : "<input>");
    const char *slash = path ? strrchr (path, '/') : NULL;
    if (!slash)
        self->dir = strdup (".");
    else if (slash == path)
        self->dir = strdup ("/");
    else
        self->dir = strndup (path, (size_t)(slash - path));
    self->timezone = strdup ("UTC");
    self->weekdays = 0x7f;
    self->default_timeout_ms = S_DEFAULT_TIMEOUT_MS;
    self->default_retries = S_DEFAULT_RETRIES;
    self->default_retry_delay_ms = S_DEFAULT_RETRY_DELAY_MS;
    self->text = malloc (size + 1);
    if (self->text) {
        memcpy (self->text, text, size);
        self->text[size] = 0;
        self->text_size = size;
    }
    if (!self->path || !self->dir || !self->timezone || !self->text) zf_flow_destroy (&self);
    return self;
}

zf_flow_t *
zf_flow_parse (const char *text, size_t size, const char *path, zf_flow_errors_t *errors)
{
    s_parser_t parser = {
        .report = {.path = path ? path : "<input>", .errors = errors},
        .start_task = -1,
        .day_roll_task = -1,
    };
    s_parser_t *self = &parser;
    if (!text) size = 0;
    if (size > ZF_MAX_FLOW_SIZE) {
        zf_flow_report (&self->report, 1, 1, "flow file exceeds ZF_MAX_FLOW_SIZE (%d bytes)",
                        ZF_MAX_FLOW_SIZE);
        return NULL;
    }
    self->flow = s_flow_new (text ? text : "", size, path);
    if (!self->flow) {
        zf_flow_report (&self->report, 0, 0, "out of memory reading the flow file");
        return NULL;
    }
    int rc = zf_flow_tree_load (&self->tree, self->flow->text, size, &self->report);
    if (rc == 1)
        zf_flow_report (&self->report, 1, 1,
                        "empty flow file (want a mapping with flow and tasks)");
    else if (rc == 0)
        s_root (self);
    if (self->oom) zf_flow_report (&self->report, 0, 0, "out of memory reading the flow file");
    zf_flow_tree_free (&self->tree);
    free (self->after_lists);
    if (self->report.found) zf_flow_destroy (&self->flow);
    return self->flow;
}

zf_flow_t *
zf_flow_load (const char *path, zf_flow_errors_t *errors)
{
    zf_flow_report_t report = {.path = path ? path : "<input>", .errors = errors};
    FILE *file = path ? fopen (path, "rb") : NULL;
    if (!file) {
        zf_flow_report (&report, 0, 0, "%s", path ? strerror (errno) : "no file name");
        return NULL;
    }
    //  Reads at most one byte past the limit: enough for the parser to refuse
    //  an oversized file without holding all of it.
    size_t alloc = 64 * 1024, size = 0;
    char *text = malloc (alloc);
    int error = 0;
    while (text) {
        if (size == alloc) {
            if (alloc > ZF_MAX_FLOW_SIZE) break;
            alloc = alloc * 2 > ZF_MAX_FLOW_SIZE + 1 ? ZF_MAX_FLOW_SIZE + 1 : alloc * 2;
            char *bigger = realloc (text, alloc);
            if (!bigger) {
                free (text);
                text = NULL;
                break;
            }
            text = bigger;
        }
        size_t got = fread (text + size, 1, alloc - size, file);
        size += got;
        if (got == 0) {
            if (ferror (file)) error = errno ? errno : EIO;
            break;
        }
    }
    fclose (file);
    if (!text) {
        zf_flow_report (&report, 0, 0, "out of memory reading the flow file");
        return NULL;
    }
    if (error) {
        free (text);
        zf_flow_report (&report, 0, 0, "%s", strerror (error));
        return NULL;
    }
    zf_flow_t *flow = zf_flow_parse (text, size, path, errors);
    free (text);
    return flow;
}

void
zf_flow_destroy (zf_flow_t **self_p)
{
    assert (self_p);
    zf_flow_t *self = *self_p;
    if (!self) return;
    for (uint32_t i = 0; self->tasks && i < self->task_count; i++) {
        zf_flow_task_t *task = &self->tasks[i];
        free (task->id);
        free (task->run);
        free (task->service);
        free (task->rollback);
        free (task->after);
        for (uint32_t k = 0; task->shard_keys && k < task->shard_count; k++)
            free (task->shard_keys[k]);
        free (task->shard_keys);
    }
    free (self->tasks);
    free (self->topo);
    free (self->index);
    free (self->holidays);
    free (self->name);
    free (self->timezone);
    free (self->path);
    free (self->dir);
    free (self->text);
    free (self);
    *self_p = NULL;
}
