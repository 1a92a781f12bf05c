/*  zf_time.c - durations, dates, times of day, time zones. */
#include "zf_time.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_DAY_MS 86400000LL

//  Reads an unsigned decimal of exactly len digits; -1 if any is not a digit.
static int
s_digits (const char *text, int len)
{
    int value = 0;
    for (int i = 0; i < len; i++) {
        if (!isdigit ((unsigned char)text[i])) return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

int
zf_duration_parse (const char *text, int64_t *ms_out)
{
    if (!text || !isdigit ((unsigned char)*text)) return -1;
    //  Zero is zero in every unit, so it needs none: "0" means what "0s"
    //  and "0ms" mean.
    if (strcmp (text, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    const char *p = text;
    int64_t value = 0;
    while (isdigit ((unsigned char)*p)) {
        if (value > (INT64_MAX - 9) / 10) return -1;
        value = value * 10 + (*p++ - '0');
    }
    int64_t unit;
    if (strcmp (p, "ms") == 0)
        unit = 1;
    else if (strcmp (p, "s") == 0)
        unit = 1000;
    else if (strcmp (p, "m") == 0)
        unit = 60000;
    else if (strcmp (p, "h") == 0)
        unit = 3600000;
    else if (strcmp (p, "d") == 0)
        unit = S_DAY_MS;
    else
        return -1;
    if (value > INT64_MAX / unit) return -1;
    *ms_out = value * unit;
    return 0;
}

char *
zf_duration_format (int64_t ms, char *buf, size_t size)
{
    static const struct {
        int64_t unit;
        const char *name;
    } units[] = {{S_DAY_MS, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    const char *name = "ms";
    int64_t value = ms;
    if (ms > 0)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (ms % units[i].unit == 0) {
                value = ms / units[i].unit;
                name = units[i].name;
                break;
            }
    snprintf (buf, size, "%lld%s", (long long)value, name);
    return buf;
}

//  Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years).
static int32_t
s_days_from_civil (int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

//  The inverse of s_days_from_civil.
static void
s_civil_from_days (int32_t days, int *y, int *m, int *d)
{
    days += 719468;
    int era = (days >= 0 ? days : days - 146096) / 146097;
    int doe = days - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
s_days_in_month (int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

int
zf_date_parse (const char *text, zf_date_t *out)
{
    if (!text || strlen (text) != 10 || text[4] != '-' || text[7] != '-') return -1;
    int y = s_digits (text, 4), m = s_digits (text + 5, 2), d = s_digits (text + 8, 2);
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > s_days_in_month (y, m)) return -1;
    *out = s_days_from_civil (y, m, d);
    return 0;
}

char *
zf_date_format (zf_date_t date, char *buf, size_t size)
{
    int y, m, d;
    s_civil_from_days (date, &y, &m, &d);
    snprintf (buf, size, "%04d-%02d-%02d", y, m, d);
    return buf;
}

int
zf_date_weekday (zf_date_t date)
{
    //  1970-01-01 was a Thursday (3 with Monday = 0).
    int w = (int)((date + 3) % 7);
    return w < 0 ? w + 7 : w;
}

int
zf_weekday_parse (const char *text)
{
    static const char *names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int i = 0; text && i < 7; i++)
        if (strcmp (text, names[i]) == 0) return i;
    return -1;
}

int
zf_tod_parse (const char *text, int *minutes_out)
{
    if (!text || strlen (text) != 5 || text[2] != ':') return -1;
    int h = s_digits (text, 2), m = s_digits (text + 3, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59) return -1;
    *minutes_out = h * 60 + m;
    return 0;
}

char *
zf_tod_format (int minutes, char *buf, size_t size)
{
    snprintf (buf, size, "%02d:%02d", minutes / 60, minutes % 60);
    return buf;
}

//  ---------------------------------------------------------------------------
//  Time zones. glibc has no zone-aware API other than TZ, so conversions set
//  TZ to the zone asked for (only when it differs from the last one, since
//  tzset re-reads the zone file) under one lock.

static pthread_mutex_t s_tz_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_tz_current[ZF_TIME_TEXT * 4] = "";

static int
s_is_utc (const char *tz)
{
    return strcmp (tz, "UTC") == 0 || strcmp (tz, "Etc/UTC") == 0;
}

int
zf_tz_valid (const char *tz)
{
    if (!tz || !*tz) return 0;
    if (s_is_utc (tz)) return 1;
    size_t len = strlen (tz);
    if (len >= sizeof s_tz_current || tz[0] == '/' || strstr (tz, "..")) return 0;
    for (const char *p = tz; *p; p++)
        if (!isalnum ((unsigned char)*p) && !strchr ("_+-/", *p)) return 0;
    const char *dir = getenv ("TZDIR");
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    FILE *file = fopen (path, "rb");
    if (!file) return 0;
    char magic[4];
    int ok = fread (magic, 1, 4, file) == 4 && memcmp (magic, "TZif", 4) == 0;
    fclose (file);
    return ok;
}

//  Makes tz the zone of localtime_r. Lock held.
static void
s_tz_use (const char *tz)
{
    if (strcmp (s_tz_current, tz) != 0) {
        snprintf (s_tz_current, sizeof s_tz_current, "%s", tz);
        setenv ("TZ", tz, 1);
        tzset ();
    }
}

//  Offset from UTC in seconds in force at instant t. Lock held, zone set.
static long
s_offset_at (time_t t)
{
    struct tm tm;
    localtime_r (&t, &tm);
    return tm.tm_gmtoff;
}

int64_t
zf_tz_instant (const char *tz, zf_date_t date, int minutes)
{
    //  The local wall time read as if it were UTC; the answer is that minus
    //  the offset in force at the answer.
    int64_t wall = (int64_t)date * 86400 + (int64_t)minutes * 60;
    if (s_is_utc (tz)) return wall * 1000;

    pthread_mutex_lock (&s_tz_lock);
    s_tz_use (tz);
    //  Zones change offset at most once around a given day, so the offsets a
    //  day before and a day after are the only candidates.
    long before = s_offset_at ((time_t)(wall - 86400));
    long after = s_offset_at ((time_t)(wall + 86400));
    int64_t first = wall - before, second = wall - after;
    int first_ok = s_offset_at ((time_t)first) == before;
    int second_ok = s_offset_at ((time_t)second) == after;
    pthread_mutex_unlock (&s_tz_lock);

    int64_t instant;
    if (first_ok && second_ok)
        instant = first < second ? first : second;
    else if (first_ok)
        instant = first;
    else if (second_ok)
        instant = second;
    else
        instant = first; //  skipped by a jump: the offset from before it
    return instant * 1000;
}

zf_date_t
zf_tz_date_at (const char *tz, int64_t instant_ms)
{
    int64_t seconds = instant_ms >= 0 ? instant_ms / 1000 : (instant_ms - 999) / 1000;
    if (!s_is_utc (tz)) {
        pthread_mutex_lock (&s_tz_lock);
        s_tz_use (tz);
        seconds += s_offset_at ((time_t)seconds);
        pthread_mutex_unlock (&s_tz_lock);
    }
    int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
    return (zf_date_t)days;
}

char *
zf_time_format (int64_t instant_ms, char *buf, size_t size)
{
    int64_t seconds = instant_ms >= 0 ? instant_ms / 1000 : (instant_ms - 999) / 1000;
    int ms = (int)(instant_ms - seconds * 1000);
    int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
    int rest = (int)(seconds - days * 86400);
    int y, m, d;
    s_civil_from_days ((int32_t)days, &y, &m, &d);
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, rest / 3600,
              rest / 60 % 60, rest % 60, ms);
    return buf;
}
