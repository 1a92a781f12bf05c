/*  zf_log.c - records with time, service, level and key=value fields, rate-limited per call site.
 */
#include "zf_log.h"
#include "zf_limits.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define ZF_LOG_SITES 64   //  call sites tracked for rate limiting
#define ZF_LOG_LINE  2048 //  longest record printed, bytes

//  Rate-limit state of one call site, identified by its format string pointer.
typedef struct {
    const char *format;   //  the call site's format, or NULL if free
    int64_t window_start; //  ms (monotonic) the current window began
    uint32_t count;       //  records seen in this window
    uint32_t suppressed;  //  records held back since the last printed one
} s_site_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_service[64] = "zflow";
static int s_verbosity = 0;
static FILE *s_stream = NULL;
static zf_log_sink_fn *s_sink = NULL;
static void *s_sink_arg = NULL;
static s_site_t s_sites[ZF_LOG_SITES];
static uint32_t s_next_site = 0; //  round-robin eviction when all sites are taken

static const char *s_level_names[] = {"error", "warn", "info", "debug"};

void
zf_log_init (const char *service, int verbosity)
{
    pthread_mutex_lock (&s_lock);
    if (service) snprintf (s_service, sizeof s_service, "%s", service);
    s_verbosity = verbosity < 0 ? 0 : verbosity;
    pthread_mutex_unlock (&s_lock);
}

void
zf_log_set_stream (FILE *stream)
{
    pthread_mutex_lock (&s_lock);
    s_stream = stream;
    pthread_mutex_unlock (&s_lock);
}

void
zf_log_set_sink (zf_log_sink_fn *sink, void *arg)
{
    pthread_mutex_lock (&s_lock);
    s_sink = sink;
    s_sink_arg = arg;
    pthread_mutex_unlock (&s_lock);
}

int
zf_log_enabled (zf_log_level_t level)
{
    //  Warnings and errors always print; -v adds info, -vv debug.
    return (int)level <= ZF_LOG_WARN + s_verbosity;
}

const char *
zf_log_level_name (zf_log_level_t level)
{
    if ((int)level < 0 || level > ZF_LOG_DEBUG) return "?";
    return s_level_names[level];
}

static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Finds or claims the rate-limit slot of a call site. Lock held.
static s_site_t *
s_site_for (const char *format)
{
    for (uint32_t i = 0; i < ZF_LOG_SITES; i++)
        if (s_sites[i].format == format) return &s_sites[i];
    for (uint32_t i = 0; i < ZF_LOG_SITES; i++)
        if (s_sites[i].format == NULL) {
            s_sites[i].format = format;
            return &s_sites[i];
        }
    //  Every slot is taken: reuse one in turn. A site evicted while it was
    //  suppressing loses its count, which only makes the summary smaller.
    s_site_t *site = &s_sites[s_next_site++ % ZF_LOG_SITES];
    memset (site, 0, sizeof *site);
    site->format = format;
    return site;
}

//  Decides whether this record prints; returns the number suppressed before it
//  through *suppressed. Lock held.
static int
s_admit (const char *format, uint32_t *suppressed)
{
    s_site_t *site = s_site_for (format);
    int64_t now = s_mono_ms ();
    if (now - site->window_start >= ZF_LOG_WINDOW_MS) {
        site->window_start = now;
        site->count = 0;
    }
    site->count++;
    if (site->count > ZF_LOG_BURST) {
        site->suppressed++;
        return 0;
    }
    *suppressed = site->suppressed;
    site->suppressed = 0;
    return 1;
}

void
zf_log_write (zf_log_level_t level, const char *format, ...)
{
    if (level != ZF_LOG_ERROR && !zf_log_enabled (level)) return;

    char line[ZF_LOG_LINE];
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);

    pthread_mutex_lock (&s_lock);
    uint32_t suppressed = 0;
    if (!s_admit (format, &suppressed)) {
        pthread_mutex_unlock (&s_lock);
        return;
    }
    int size = snprintf (line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000000, s_service, zf_log_level_name (level));
    va_list args;
    va_start (args, format);
    if (size > 0 && (size_t)size < sizeof line)
        size += vsnprintf (line + size, sizeof line - size, format, args);
    va_end (args);
    if (suppressed && size > 0 && (size_t)size < sizeof line)
        snprintf (line + size, sizeof line - size, " suppressed=%u", suppressed);
    //  One record is one line: a newline inside a message would forge a record.
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';

    FILE *stream = s_stream ? s_stream : stderr;
    fprintf (stream, "%s\n", line);
    fflush (stream);
    if (s_sink && level <= ZF_LOG_WARN) s_sink (level, line, s_sink_arg);
    pthread_mutex_unlock (&s_lock);
}
