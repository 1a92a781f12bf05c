/*  Tests of zf_time: durations, dates, weekdays, times of day, zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "zf_time.h"

//  ms of a UTC date and time, for expectations.
static int64_t
s_utc (const char *date, int hour, int minute)
{
    zf_date_t d;
    assert_int_equal (zf_date_parse (date, &d), 0);
    return ((int64_t)d * 86400 + hour * 3600 + minute * 60) * 1000;
}

static void
test_duration_parse (void **state)
{
    int64_t ms = -1;
    assert_int_equal (zf_duration_parse ("500ms", &ms), 0);
    assert_int_equal (ms, 500);
    assert_int_equal (zf_duration_parse ("30s", &ms), 0);
    assert_int_equal (ms, 30000);
    assert_int_equal (zf_duration_parse ("10m", &ms), 0);
    assert_int_equal (ms, 600000);
    assert_int_equal (zf_duration_parse ("2h", &ms), 0);
    assert_int_equal (ms, 7200000);
    assert_int_equal (zf_duration_parse ("1d", &ms), 0);
    assert_int_equal (ms, 86400000);
    assert_int_equal (zf_duration_parse ("0s", &ms), 0);
    assert_int_equal (ms, 0);
    //  Zero needs no unit, and means the same without one.
    ms = -1;
    assert_int_equal (zf_duration_parse ("0", &ms), 0);
    assert_int_equal (ms, 0);

    const char *bad[] = {"",
                         "s",
                         "10",
                         "00",
                         "1",
                         "-5s",
                         "+5s",
                         "5 s",
                         "5S",
                         "1.5h",
                         "5sec",
                         "5ms ",
                         " 5s",
                         "99999999999999999999s",
                         "9223372036854775807h",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        ms = 42;
        assert_int_equal (zf_duration_parse (bad[i], &ms), -1);
        assert_int_equal (ms, 42);
    }
    assert_int_equal (zf_duration_parse (NULL, &ms), -1);
}

static void
test_duration_format (void **state)
{
    char buf[ZF_TIME_TEXT];
    assert_string_equal (zf_duration_format (500, buf, sizeof buf), "500ms");
    assert_string_equal (zf_duration_format (1500, buf, sizeof buf), "1500ms");
    assert_string_equal (zf_duration_format (90000, buf, sizeof buf), "90s");
    assert_string_equal (zf_duration_format (600000, buf, sizeof buf), "10m");
    assert_string_equal (zf_duration_format (7200000, buf, sizeof buf), "2h");
    assert_string_equal (zf_duration_format (0, buf, sizeof buf), "0ms");
    //  Every formatted value parses back to itself.
    int64_t values[] = {1, 999, 1000, 61000, 3600000, 86400000 * 3LL, 123456789};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = -1;
        assert_int_equal (
            zf_duration_parse (zf_duration_format (values[i], buf, sizeof buf), &back), 0);
        assert_int_equal (back, values[i]);
    }
}

static void
test_dates (void **state)
{
    zf_date_t d = -1;
    char buf[ZF_DATE_TEXT];
    assert_int_equal (zf_date_parse ("1970-01-01", &d), 0);
    assert_int_equal (d, 0);
    assert_int_equal (zf_date_parse ("2026-11-24", &d), 0);
    assert_int_equal (d, 20781);
    assert_string_equal (zf_date_format (d, buf, sizeof buf), "2026-11-24");
    assert_int_equal (zf_date_parse ("2024-02-29", &d), 0);
    assert_int_equal (zf_date_parse ("2000-02-29", &d), 0);
    assert_int_equal (zf_date_parse ("9999-12-31", &d), 0);
    assert_string_equal (zf_date_format (d, buf, sizeof buf), "9999-12-31");

    const char *bad[] = {"2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10",  "2026-04-31",
                         "2026-4-01",  "26-04-01",   "2026/04/01", "2026-04-01x", "1969-12-31",
                         "",           "abcd-ef-gh", NULL};
    for (int i = 0; bad[i]; i++) {
        d = 7;
        assert_int_equal (zf_date_parse (bad[i], &d), -1);
        assert_int_equal (d, 7);
    }
    //  Every day of four years survives a round trip, and days are consecutive.
    zf_date_t start;
    assert_int_equal (zf_date_parse ("2023-01-01", &start), 0);
    for (zf_date_t day = start; day < start + 1461; day++) {
        zf_date_t back;
        assert_int_equal (zf_date_parse (zf_date_format (day, buf, sizeof buf), &back), 0);
        assert_int_equal (back, day);
    }
}

static void
test_weekdays (void **state)
{
    zf_date_t d;
    assert_int_equal (zf_date_parse ("1970-01-01", &d), 0);
    assert_int_equal (zf_date_weekday (d), 3); //  Thursday
    assert_int_equal (zf_date_parse ("2026-11-24", &d), 0);
    assert_int_equal (zf_date_weekday (d), 1); //  Tuesday
    assert_int_equal (zf_date_parse ("2026-11-29", &d), 0);
    assert_int_equal (zf_date_weekday (d), 6); //  Sunday
    assert_int_equal (zf_weekday_parse ("mon"), 0);
    assert_int_equal (zf_weekday_parse ("sun"), 6);
    assert_int_equal (zf_weekday_parse ("Mon"), -1);
    assert_int_equal (zf_weekday_parse ("monday"), -1);
    assert_int_equal (zf_weekday_parse (NULL), -1);
}

static void
test_times_of_day (void **state)
{
    int m = -1;
    char buf[8];
    assert_int_equal (zf_tod_parse ("00:00", &m), 0);
    assert_int_equal (m, 0);
    assert_int_equal (zf_tod_parse ("16:30", &m), 0);
    assert_int_equal (m, 990);
    assert_int_equal (zf_tod_parse ("23:59", &m), 0);
    assert_int_equal (m, 1439);
    assert_string_equal (zf_tod_format (990, buf, sizeof buf), "16:30");
    const char *bad[] = {"24:00", "12:60", "1:30", "12:3", "12-30", "12:30:00", "ab:cd", "", NULL};
    for (int i = 0; bad[i]; i++) {
        m = 5;
        assert_int_equal (zf_tod_parse (bad[i], &m), -1);
        assert_int_equal (m, 5);
    }
}

static void
test_zones_valid (void **state)
{
    assert_true (zf_tz_valid ("UTC"));
    assert_true (zf_tz_valid ("Asia/Shanghai"));
    assert_true (zf_tz_valid ("America/New_York"));
    assert_false (zf_tz_valid ("Mars/Olympus"));
    assert_false (zf_tz_valid (""));
    assert_false (zf_tz_valid ("../etc/passwd"));
    assert_false (zf_tz_valid ("/etc/localtime"));
    assert_false (zf_tz_valid ("Asia")); //  a folder, not a zone
    assert_false (zf_tz_valid (NULL));
}

static void
test_zone_instants (void **state)
{
    zf_date_t d;
    //  Shanghai is UTC+8 all year.
    assert_int_equal (zf_date_parse ("2026-11-24", &d), 0);
    assert_int_equal (zf_tz_instant ("Asia/Shanghai", d, 16 * 60 + 30),
                      s_utc ("2026-11-24", 8, 30));
    assert_int_equal (zf_tz_instant ("Asia/Shanghai", d, 0), s_utc ("2026-11-23", 16, 0));
    assert_int_equal (zf_tz_instant ("UTC", d, 90), s_utc ("2026-11-24", 1, 30));
    //  New York: EST (UTC-5) in winter, EDT (UTC-4) in summer.
    assert_int_equal (zf_tz_instant ("America/New_York", d, 23 * 60), s_utc ("2026-11-25", 4, 0));
    assert_int_equal (zf_date_parse ("2026-07-01", &d), 0);
    assert_int_equal (zf_tz_instant ("America/New_York", d, 0), s_utc ("2026-07-01", 4, 0));
    //  Spring forward, 2026-03-08: 02:30 does not exist; read with EST it is 07:30Z.
    assert_int_equal (zf_date_parse ("2026-03-08", &d), 0);
    assert_int_equal (zf_tz_instant ("America/New_York", d, 150), s_utc ("2026-03-08", 7, 30));
    assert_int_equal (zf_tz_instant ("America/New_York", d, 180), s_utc ("2026-03-08", 7, 0));
    assert_int_equal (zf_tz_instant ("America/New_York", d, 60), s_utc ("2026-03-08", 6, 0));
    //  Fall back, 2026-11-01: 01:30 happens twice; the first is EDT (05:30Z).
    assert_int_equal (zf_date_parse ("2026-11-01", &d), 0);
    assert_int_equal (zf_tz_instant ("America/New_York", d, 90), s_utc ("2026-11-01", 5, 30));
    assert_int_equal (zf_tz_instant ("America/New_York", d, 180), s_utc ("2026-11-01", 8, 0));
}

static void
test_zone_dates (void **state)
{
    zf_date_t d24, d23;
    assert_int_equal (zf_date_parse ("2026-11-24", &d24), 0);
    assert_int_equal (zf_date_parse ("2026-11-23", &d23), 0);
    //  17:00Z on the 23rd is already the 24th in Shanghai, still the 23rd in New York.
    int64_t t = s_utc ("2026-11-23", 17, 0);
    assert_int_equal (zf_tz_date_at ("Asia/Shanghai", t), d24);
    assert_int_equal (zf_tz_date_at ("America/New_York", t), d23);
    assert_int_equal (zf_tz_date_at ("UTC", t), d23);
    assert_int_equal (zf_tz_date_at ("UTC", s_utc ("2026-11-24", 0, 0)), d24);
    assert_int_equal (zf_tz_date_at ("UTC", s_utc ("2026-11-24", 0, 0) - 1), d23);
}

static void
test_time_format (void **state)
{
    char buf[ZF_TIME_TEXT];
    assert_string_equal (zf_time_format (0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal (zf_time_format (s_utc ("2026-11-24", 9, 38) + 6123, buf, sizeof buf),
                         "2026-11-24T09:38:06.123Z");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_duration_parse), cmocka_unit_test (test_duration_format),
        cmocka_unit_test (test_dates),          cmocka_unit_test (test_weekdays),
        cmocka_unit_test (test_times_of_day),   cmocka_unit_test (test_zones_valid),
        cmocka_unit_test (test_zone_instants),  cmocka_unit_test (test_zone_dates),
        cmocka_unit_test (test_time_format),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
