/*  zf_log.h - one line per record: time, service, level, message, key=value fields.

    Quiet by default: errors and warnings only; -v adds info, -vv debug. Errors
    are never filtered by level. A call site that repeats itself more than
    ZF_LOG_BURST times in ZF_LOG_WINDOW_MS is held back; the next record from it
    after the window says how many were suppressed. A sink can be installed to
    forward errors and warnings (for example onto the bus). Thread-safe.

    Convention for the message: a short lower-case phrase, then key=value pairs:
        zf_log_error ("task failed flow=%s task=%s exit=%d", flow, task, code);
    prints
        2026-11-24T09:38:06.123Z registry error task failed flow=eod task=load exit=1
*/
#ifndef ZF_LOG_H_INCLUDED
#define ZF_LOG_H_INCLUDED

#include <stdio.h>

typedef enum {
    ZF_LOG_ERROR = 0,
    ZF_LOG_WARN = 1,
    ZF_LOG_INFO = 2,
    ZF_LOG_DEBUG = 3
} zf_log_level_t;

//  Receives every error and warning that is printed (after rate limiting).
//  Called with the log lock held: it must not log.
typedef void (zf_log_sink_fn) (zf_log_level_t level, const char *line, void *arg);

//  Names the service in every record and sets verbosity: 0 = warn (default),
//  1 = info, 2 = debug. May be called again to change either.
void zf_log_init (const char *service, int verbosity);

//  Sends records to this stream instead of stderr (NULL restores stderr).
void zf_log_set_stream (FILE *stream);

//  Installs (or with NULL removes) the sink for errors and warnings.
void zf_log_set_sink (zf_log_sink_fn *sink, void *arg);

//  True if a record at this level would be printed.
int zf_log_enabled (zf_log_level_t level);

//  Writes one record. Use the macros below, which skip formatting when disabled.
void zf_log_write (zf_log_level_t level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Returns the name of a level ("error", "warn", "info", "debug").
const char *zf_log_level_name (zf_log_level_t level);

#define zf_log_error(...) zf_log_write (ZF_LOG_ERROR, __VA_ARGS__)
#define zf_log_warn(...)                                                                           \
    do {                                                                                           \
        if (zf_log_enabled (ZF_LOG_WARN)) zf_log_write (ZF_LOG_WARN, __VA_ARGS__);                 \
    } while (0)
#define zf_log_info(...)                                                                           \
    do {                                                                                           \
        if (zf_log_enabled (ZF_LOG_INFO)) zf_log_write (ZF_LOG_INFO, __VA_ARGS__);                 \
    } while (0)
#define zf_log_debug(...)                                                                          \
    do {                                                                                           \
        if (zf_log_enabled (ZF_LOG_DEBUG)) zf_log_write (ZF_LOG_DEBUG, __VA_ARGS__);               \
    } while (0)

#endif
