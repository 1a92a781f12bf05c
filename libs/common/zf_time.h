/*  zf_time.h - durations, business dates, times of day and time zones.

    Durations are whole milliseconds written as an integer and a unit:
    "500ms", "30s", "10m", "2h" (also "1d"); zero may also be written "0",
    and means the same as "0s". Dates are days since 1970-01-01
    written "YYYY-MM-DD". Times of day are minutes after midnight written
    "HH:MM". Time zones are IANA names ("Asia/Shanghai", "UTC"); conversions
    use the system's zoneinfo. All parsers return 0 on success and -1 on bad
    input, never touching *out then.
*/
#ifndef ZF_TIME_H_INCLUDED
#define ZF_TIME_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef int32_t zf_date_t; //  days since 1970-01-01

#define ZF_DATE_TEXT 11 //  "YYYY-MM-DD" and a nul
#define ZF_TIME_TEXT 32 //  room for an RFC 3339 time or a duration

//  Durations: "<digits><unit>", unit ms|s|m|h|d, no sign, no spaces, no
//  overflow; or a bare "0".
int zf_duration_parse (const char *text, int64_t *ms_out);

//  Writes the shortest exact form ("1500ms", "90s", "2h"); returns buf.
char *zf_duration_format (int64_t ms, char *buf, size_t size);

//  Dates: strictly "YYYY-MM-DD", a real calendar date, years 1970..9999.
int zf_date_parse (const char *text, zf_date_t *out);
char *zf_date_format (zf_date_t date, char *buf, size_t size);

//  0 = Monday .. 6 = Sunday.
int zf_date_weekday (zf_date_t date);

//  Weekday names "mon".."sun" to 0..6; -1 if unknown.
int zf_weekday_parse (const char *text);

//  Times of day: strictly "HH:MM", 00:00 to 23:59, to minutes after midnight.
int zf_tod_parse (const char *text, int *minutes_out);
char *zf_tod_format (int minutes, char *buf, size_t size);

//  True if the name is a time zone this system knows ("UTC" always is).
int zf_tz_valid (const char *tz);

//  The instant (ms since the epoch) at which the given local date and time of
//  day occur in tz. A local time skipped by a clock jump is read with the
//  offset in force before the jump (02:30 on a spring-forward night is 03:30
//  after it); a repeated local time means its first occurrence. Zones other
//  than UTC are read from the system's zoneinfo through TZ: zflow uses local
//  time nowhere else, and these functions serialise on one lock.
int64_t zf_tz_instant (const char *tz, zf_date_t date, int minutes);

//  The local date in tz at the instant.
zf_date_t zf_tz_date_at (const char *tz, int64_t instant_ms);

//  RFC 3339 UTC form of an instant with milliseconds: "2026-11-24T09:38:06.123Z".
char *zf_time_format (int64_t instant_ms, char *buf, size_t size);

#endif
