/*  Tests of a flow's calendar: business dates, weekends, holidays, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zf_flow.h"
#include "zf_limits.h"

typedef struct {
    zf_flow_t *flow;         //  the calendar under test
    zf_flow_errors_t errors; //  of its parse
    char *text;              //  the flow file, as generated
    size_t size;             //  bytes of text in use
    size_t alloc;            //  bytes of text allocated
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    zf_flow_destroy (&self->flow);
    zf_flow_errors_clear (&self->errors);
    free (self->text);
    free (self);
    return 0;
}

//  Appends to the flow file being generated.
static void __attribute__ ((format (printf, 2, 3))) s_add (fixture_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int length = vsnprintf (NULL, 0, format, args);
    va_end (args);
    if (self->size + (size_t)length + 1 > self->alloc) {
        self->alloc = (self->size + (size_t)length + 1) * 2;
        self->text = realloc (self->text, self->alloc);
        assert_non_null (self->text);
    }
    va_start (args, format);
    vsnprintf (self->text + self->size, (size_t)length + 1, format, args);
    va_end (args);
    self->size += (size_t)length;
}

//  Parses a flow with the given calendar mapping (flow style); it must be valid.
static zf_flow_t *
s_calendar (fixture_t *self, const char *calendar)
{
    self->size = 0;
    s_add (self, "flow: f\ncalendar: %s\ntasks: [{id: a, run: r}]\n", calendar);
    zf_flow_destroy (&self->flow);
    self->flow = zf_flow_parse (self->text, self->size, "cal.yaml", &self->errors);
    for (uint32_t i = 0; i < self->errors.count; i++)
        print_message ("  reported: %s\n", self->errors.lines[i]);
    assert_non_null (self->flow);
    return self->flow;
}

static zf_date_t
s_date (const char *text)
{
    zf_date_t date;
    assert_int_equal (zf_date_parse (text, &date), 0);
    return date;
}

//  The expected answer, the slow way: one day at a time, no bound.
static zf_date_t
s_walk (const zf_flow_t *flow, zf_date_t date, int step, uint32_t n)
{
    while (n) {
        date += step;
        if (date < 0 || date > ZF_FLOW_LAST_DATE) return ZF_FLOW_NO_DATE;
        if (zf_flow_is_business_date (flow, date)) n--;
    }
    return date;
}

static void
test_every_day (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_calendar (self, "{}");
    zf_date_t saturday = s_date ("2026-11-28");
    assert_int_equal (zf_date_weekday (saturday), 5);
    assert_true (zf_flow_is_business_date (flow, saturday));
    assert_int_equal (zf_flow_next_business_date (flow, saturday), saturday + 1);
    assert_int_equal (zf_flow_prev_business_date (flow, saturday, 1), saturday - 1);
    assert_int_equal (zf_flow_prev_business_date (flow, saturday, 3), saturday - 3);
    assert_int_equal (zf_flow_prev_business_date (flow, saturday, 0), saturday);
}

static void
test_weekends (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_calendar (self, "{weekdays: [mon, tue, wed, thu, fri]}");
    zf_date_t friday = s_date ("2026-11-27");
    zf_date_t saturday = friday + 1, sunday = friday + 2, monday = friday + 3;
    assert_true (zf_flow_is_business_date (flow, friday));
    assert_false (zf_flow_is_business_date (flow, saturday));
    assert_false (zf_flow_is_business_date (flow, sunday));
    assert_true (zf_flow_is_business_date (flow, monday));
    assert_int_equal (zf_flow_next_business_date (flow, friday), monday);
    assert_int_equal (zf_flow_next_business_date (flow, saturday), monday);
    assert_int_equal (zf_flow_next_business_date (flow, sunday), monday);
    assert_int_equal (zf_flow_prev_business_date (flow, monday, 1), friday);
    assert_int_equal (zf_flow_prev_business_date (flow, sunday, 1), friday);
    assert_int_equal (zf_flow_prev_business_date (flow, monday, 5), monday - 7);
    //  A date need not be a business date to count back from.
    assert_int_equal (zf_flow_prev_business_date (flow, saturday, 0), saturday);

    //  Weekend-only business days work the other way round.
    flow = s_calendar (self, "{weekdays: [sat, sun]}");
    assert_int_equal (zf_flow_next_business_date (flow, friday), saturday);
    assert_int_equal (zf_flow_next_business_date (flow, sunday), saturday + 7);
    assert_int_equal (zf_flow_prev_business_date (flow, friday, 2), saturday - 7);
}

static void
test_holidays_and_year_end (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_calendar (self, "{weekdays: [mon, tue, wed, thu, fri], "
                                        "holidays: [2027-01-01, 2026-12-25, 2026-12-26]}");
    //  A holiday on a weekend day (12-26 is a Saturday) changes nothing.
    assert_false (zf_flow_is_business_date (flow, s_date ("2026-12-25")));
    assert_true (zf_flow_is_business_date (flow, s_date ("2026-12-24")));
    assert_int_equal (zf_flow_next_business_date (flow, s_date ("2026-12-24")),
                      s_date ("2026-12-28"));
    assert_int_equal (zf_flow_next_business_date (flow, s_date ("2026-12-31")),
                      s_date ("2027-01-04"));
    assert_int_equal (zf_flow_prev_business_date (flow, s_date ("2027-01-04"), 1),
                      s_date ("2026-12-31"));
    assert_int_equal (zf_flow_prev_business_date (flow, s_date ("2027-01-04"), 2),
                      s_date ("2026-12-30"));
    assert_int_equal (zf_flow_prev_business_date (flow, s_date ("2026-12-28"), 1),
                      s_date ("2026-12-24"));
    //  A leap day, a business day like any other.
    assert_true (zf_flow_is_business_date (flow, s_date ("2028-02-29")));
    assert_int_equal (zf_flow_next_business_date (flow, s_date ("2028-02-28")),
                      s_date ("2028-02-29"));
}

//  Every answer agrees with a day-by-day walk, over four years of a calendar
//  with scattered holidays, and for counts up to the largest dependency offset.
static void
test_against_walk (void **state)
{
    fixture_t *self = *state;
    zf_flow_t *flow = s_calendar (self, "{weekdays: [mon, wed, thu, fri, sun], holidays: "
                                        "[2026-01-01, 2026-01-02, 2026-01-04, 2026-05-01, "
                                        "2026-12-24, 2026-12-25, 2027-01-01, 2028-02-29]}");
    zf_date_t first = s_date ("2025-12-01"), last = s_date ("2029-12-31");
    for (zf_date_t date = first; date <= last; date++) {
        assert_int_equal (zf_flow_next_business_date (flow, date), s_walk (flow, date, 1, 1));
        assert_int_equal (zf_flow_prev_business_date (flow, date, 1), s_walk (flow, date, -1, 1));
    }
    for (uint32_t n = 0; n <= ZF_MAX_DATE_OFFSET; n += 13)
        assert_int_equal (zf_flow_prev_business_date (flow, last, n), s_walk (flow, last, -1, n));
}

static void
test_range_ends (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (ZF_FLOW_LAST_DATE, s_date ("9999-12-31"));
    zf_flow_t *flow = s_calendar (self, "{}");
    assert_int_equal (zf_flow_next_business_date (flow, ZF_FLOW_LAST_DATE - 1), ZF_FLOW_LAST_DATE);
    assert_int_equal (zf_flow_next_business_date (flow, ZF_FLOW_LAST_DATE), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_next_business_date (flow, INT32_MAX), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_next_business_date (flow, -5), 0);
    assert_int_equal (zf_flow_next_business_date (flow, ZF_FLOW_NO_DATE), 0);
    assert_int_equal (zf_flow_prev_business_date (flow, 1, 1), 0);
    assert_int_equal (zf_flow_prev_business_date (flow, 0, 1), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (flow, 5, 6), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (flow, ZF_FLOW_NO_DATE, 1), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (flow, INT32_MAX, 1), ZF_FLOW_LAST_DATE);
    assert_false (zf_flow_is_business_date (flow, -1));
    assert_false (zf_flow_is_business_date (flow, ZF_FLOW_LAST_DATE + 1));
    //  NO_DATE sorts before every date: "before the first run".
    assert_true (ZF_FLOW_NO_DATE < 0);
}

//  Holidays on every Monday for ZF_MAX_HOLIDAYS weeks of a Monday-only
//  calendar: the longest stretch without a business date a flow can have.
static void
test_longest_gap (void **state)
{
    fixture_t *self = *state;
    zf_date_t start = s_date ("1990-01-01");
    assert_int_equal (zf_date_weekday (start), 0);
    self->size = 0;
    s_add (self, "flow: f\ntasks: [{id: a, run: r}]\ncalendar:\n  weekdays: [mon]\n  holidays:\n");
    char text[ZF_DATE_TEXT];
    for (int i = 0; i < ZF_MAX_HOLIDAYS; i++)
        s_add (self, "    - %s\n", zf_date_format (start + 7 * i, text, sizeof text));
    self->flow = zf_flow_parse (self->text, self->size, "cal.yaml", &self->errors);
    assert_non_null (self->flow);
    zf_date_t after = start + 7 * ZF_MAX_HOLIDAYS;
    assert_int_equal (zf_flow_next_business_date (self->flow, start - 1), after);
    assert_int_equal (zf_flow_next_business_date (self->flow, start + 3), after);
    assert_int_equal (zf_flow_prev_business_date (self->flow, after, 1), start - 7);
    assert_int_equal (zf_flow_prev_business_date (self->flow, after + 7, 2), start - 7);
    assert_false (zf_flow_is_business_date (self->flow, start + 7 * 5000));
}

//  The same gap at the end of the calendar: no business date is left, and
//  the search says so rather than running past 9999-12-31.
static void
test_no_date_left (void **state)
{
    fixture_t *self = *state;
    zf_date_t last_friday = ZF_FLOW_LAST_DATE;
    assert_int_equal (zf_date_weekday (last_friday), 4);
    zf_date_t first = last_friday - 7 * (ZF_MAX_HOLIDAYS - 1);
    self->size = 0;
    s_add (self, "flow: f\ntasks: [{id: a, run: r}]\ncalendar:\n  weekdays: [fri]\n  holidays:\n");
    char text[ZF_DATE_TEXT];
    for (int i = 0; i < ZF_MAX_HOLIDAYS; i++)
        s_add (self, "    - %s\n", zf_date_format (first + 7 * i, text, sizeof text));
    self->flow = zf_flow_parse (self->text, self->size, "cal.yaml", &self->errors);
    assert_non_null (self->flow);
    assert_true (zf_flow_is_business_date (self->flow, first - 7));
    assert_int_equal (zf_flow_next_business_date (self->flow, first - 7), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_next_business_date (self->flow, first - 1), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (self->flow, ZF_FLOW_LAST_DATE, 1), first - 7);
}

//  A calendar that was never parsed may have no weekdays at all: the walks
//  still end, bounded, with no date.
static void
test_no_weekdays (void **state)
{
    zf_flow_t flow;
    memset (&flow, 0, sizeof flow);
    zf_date_t date = 20000;
    assert_false (zf_flow_is_business_date (&flow, date));
    assert_int_equal (zf_flow_next_business_date (&flow, date), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (&flow, date, 3), ZF_FLOW_NO_DATE);
    assert_int_equal (zf_flow_prev_business_date (&flow, date, 0), date);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_every_day, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_weekends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_holidays_and_year_end, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_against_walk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_range_ends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_longest_gap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_date_left, s_setup, s_teardown),
        cmocka_unit_test (test_no_weekdays),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
