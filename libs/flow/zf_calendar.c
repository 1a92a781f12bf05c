/*  zf_calendar.c - business dates of a flow's calendar.

    A business date is a business weekday that is not a holiday. Holidays are
    sorted, so each test is a binary search. Walks from date to date are
    bounded by the calendar itself: every week holds at least one business
    weekday and each holiday takes away one date, so 7 x (holidays + 1) days
    always hold a business date; the walks never look further than that.
*/
#include "zf_flow.h"

#include <assert.h>

//  True if date is one of the (sorted) holidays.
static bool
s_is_holiday (const zf_flow_t *self, zf_date_t date)
{
    uint32_t low = 0, high = self->holiday_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (self->holidays[middle] < date)
            low = middle + 1;
        else
            high = middle;
    }
    return low < self->holiday_count && self->holidays[low] == date;
}

bool
zf_flow_is_business_date (const zf_flow_t *self, zf_date_t date)
{
    assert (self);
    if (date < 0 || date > ZF_FLOW_LAST_DATE) return false;
    return (self->weekdays >> zf_date_weekday (date) & 1) && !s_is_holiday (self, date);
}

zf_date_t
zf_flow_next_business_date (const zf_flow_t *self, zf_date_t date)
{
    assert (self);
    if (date >= ZF_FLOW_LAST_DATE) return ZF_FLOW_NO_DATE;
    //  From before the calendar's range the search starts at its first date.
    int64_t day = date < 0 ? 0 : (int64_t)date + 1;
    int64_t budget = 7 * ((int64_t)self->holiday_count + 1);
    for (; budget > 0 && day <= ZF_FLOW_LAST_DATE; budget--, day++)
        if (zf_flow_is_business_date (self, (zf_date_t)day)) return (zf_date_t)day;
    return ZF_FLOW_NO_DATE;
}

zf_date_t
zf_flow_prev_business_date (const zf_flow_t *self, zf_date_t date, uint32_t n)
{
    assert (self);
    if (n == 0) return date;
    if (date <= 0) return ZF_FLOW_NO_DATE;
    //  From after the calendar's range the walk starts at its last date.
    int64_t day = date > ZF_FLOW_LAST_DATE ? (int64_t)ZF_FLOW_LAST_DATE : (int64_t)date - 1;
    int64_t budget = 7 * ((int64_t)n + self->holiday_count + 1);
    for (; budget > 0 && day >= 0; budget--, day--)
        if (zf_flow_is_business_date (self, (zf_date_t)day) && --n == 0) return (zf_date_t)day;
    return ZF_FLOW_NO_DATE;
}
