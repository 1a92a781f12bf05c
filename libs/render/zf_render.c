/*  zf_render.c - times, durations, one-line text and JSON scalars. */
#include "zf_render.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

char *
zf_render_local_time (int64_t ms, char *buf, size_t size)
{
    assert (buf);
    time_t seconds = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int millis = (int)(ms - (int64_t)seconds * 1000);
    struct tm tm;
    if (!localtime_r (&seconds, &tm)) {
        snprintf (buf, size, "%" PRId64, ms);
        return buf;
    }
    char whole[32];
    strftime (whole, sizeof whole, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf (buf, size, "%s.%03d", whole, millis);
    return buf;
}

char *
zf_render_duration (int64_t ms, char *buf, size_t size)
{
    assert (buf);
    if (ms < 0) ms = 0;
    if (ms < 60000)
        snprintf (buf, size, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms / 100 % 10);
    else if (ms < 3600000)
        snprintf (buf, size, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
    else if (ms < 86400000)
        snprintf (buf, size, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
    else
        snprintf (buf, size, "%" PRId64 "d%02" PRId64 "h", ms / 86400000, ms / 3600000 % 24);
    return buf;
}

//  True for bytes shown as a space in one-line text.
static bool
s_is_control (unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

//  True if the line [start, end) has something other than blanks.
static bool
s_has_ink (const char *start, const char *end)
{
    for (const char *p = start; p < end; p++)
        if (!s_is_control ((unsigned char)*p) && *p != ' ') return true;
    return false;
}

char *
zf_render_oneline (const char *text, size_t max, char *buf, size_t size)
{
    assert (buf && size > 0);
    buf[0] = 0;
    if (!text) return buf;
    //  A log tail ends with what went wrong, so the last line with ink wins.
    const char *start = NULL, *end = NULL;
    const char *line = text;
    while (*line) {
        const char *stop = strchr (line, '\n');
        if (!stop) stop = line + strlen (line);
        if (s_has_ink (line, stop)) {
            start = line;
            end = stop;
        }
        line = *stop ? stop + 1 : stop;
    }
    if (!start) return buf;
    while (start < end && (*start == ' ' || s_is_control ((unsigned char)*start)))
        start++;
    while (end > start && (end[-1] == ' ' || s_is_control ((unsigned char)end[-1])))
        end--;
    if (max > size - 1) max = size - 1;
    size_t length = (size_t)(end - start);
    bool cut = length > max;
    if (cut) {
        length = max > 3 ? max - 3 : 0;
        //  Never split a UTF-8 character: back up over continuation bytes.
        while (length > 0 && ((unsigned char)start[length] & 0xC0) == 0x80)
            length--;
    }
    for (size_t i = 0; i < length; i++)
        buf[i] = s_is_control ((unsigned char)start[i]) ? ' ' : start[i];
    buf[length] = 0;
    if (cut && length + 3 < size) strcat (buf, "...");
    return buf;
}

char *
zf_render_task_label (const char *task, int32_t shard, char *buf, size_t size)
{
    assert (buf);
    if (shard < 0)
        snprintf (buf, size, "%s", task ? task : "-");
    else
        snprintf (buf, size, "%s[%" PRId32 "]", task ? task : "-", shard);
    return buf;
}

json_t *
zf_render_time_json (int64_t ms)
{
    if (ms == 0) return json_null ();
    char text[ZF_TIME_TEXT];
    return json_string (zf_time_format (ms, text, sizeof text));
}

json_t *
zf_render_date_json (zf_date_t date)
{
    if (date == ZF_DATE_NONE) return json_null ();
    char text[ZF_DATE_TEXT];
    return json_string (zf_date_format (date, text, sizeof text));
}

//  Length of the valid UTF-8 character at p (at most left bytes), or 0.
static size_t
s_utf8_char (const unsigned char *p, size_t left)
{
    size_t length;
    uint32_t low;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        length = 2, low = 0x80;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        length = 3, low = 0x800;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        length = 4, low = 0x10000;
    else
        return 0;
    if (length > left) return 0;
    uint32_t code = p[0] & (0x7F >> length);
    for (size_t i = 1; i < length; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        code = (code << 6) | (p[i] & 0x3F);
    }
    if (code < low || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return length;
}

json_t *
zf_render_string_json (const char *text)
{
    if (!text) return json_null ();
    json_t *value = json_string (text);
    if (value) return value;
    //  Log tails are whatever a program printed: bytes that are not UTF-8
    //  become U+FFFD so the line stays valid JSON.
    size_t size = strlen (text);
    char *clean = malloc (size * 3 + 1);
    if (!clean) return json_null ();
    size_t out = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < size;) {
        size_t length = s_utf8_char (p + i, size - i);
        if (length) {
            memcpy (clean + out, p + i, length);
            out += length;
            i += length;
        } else {
            memcpy (clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            i++;
        }
    }
    value = json_stringn (clean, out);
    free (clean);
    return value ? value : json_null ();
}

int
zf_render_json_line (json_t *value, FILE *out)
{
    assert (out);
    if (!value) return -1;
    char *text = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return -1;
    fprintf (out, "%s\n", text);
    free (text);
    return 0;
}
