/* Calendar periods in UTC: years, quarters, months and ISO 8601 weeks. */
#include <salesfsm/targets.h>

#include "periods.h"

#define DAY_MS INT64_C(86400000)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* 0 = Monday .. 6 = Sunday. 1970-01-01 was a Thursday (3). */
static int weekday(int64_t days)
{
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

/* Monday of ISO week 1: the week holding 4 January. */
static int64_t iso_week1_monday(int year)
{
    int64_t jan4 = days_from_civil(year, 1, 4);
    return jan4 - weekday(jan4);
}

int sfsm__iso_weeks(int year)
{
    return (int)((iso_week1_monday(year + 1) - iso_week1_monday(year)) / 7);
}

int sfsm__period_parts(int year, sfsm_period_kind kind)
{
    switch (kind) {
    case SFSM_PERIOD_YEAR:
        return 1;
    case SFSM_PERIOD_QUARTER:
        return 4;
    case SFSM_PERIOD_MONTH:
        return 12;
    case SFSM_PERIOD_WEEK:
        return sfsm__iso_weeks(year);
    }
    return 0;
}

int sfsm__period_check(const char *what, const sfsm_period *p)
{
    if (!p)
        return sfsm_error_set(SFSM_EINVAL, "%s: is NULL", what);
    if (p->year < SFSM_PERIOD_YEAR_MIN || p->year > SFSM_PERIOD_YEAR_MAX)
        return sfsm_error_set(SFSM_EINVAL, "%s.year: %d is out of range (%d..%d)", what, p->year,
                              SFSM_PERIOD_YEAR_MIN, SFSM_PERIOD_YEAR_MAX);
    int parts = sfsm__period_parts(p->year, p->kind);
    if (parts == 0)
        return sfsm_error_set(SFSM_EINVAL, "%s.kind: %d is not a period kind (year 1, quarter 2, month 3, week 4)",
                              what, (int)p->kind);
    if (p->index < 1 || p->index > parts) {
        static const char *const names[] = { "", "year", "quarter", "month", "ISO week" };
        return sfsm_error_set(SFSM_EINVAL, "%s.index: %d is not a %s of %d (1..%d)", what, p->index,
                              names[p->kind], p->year, parts);
    }
    return SFSM_OK;
}

int sfsm_period_bounds(const sfsm_period *p, int64_t *from_ms, int64_t *to_ms)
{
    if (!p || !from_ms || !to_ms)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_period_bounds: %s is NULL", !p ? "period" : !from_ms ? "from_ms" : "to_ms");
    int rc = sfsm__period_check("period", p);
    if (rc)
        return rc;
    int64_t from, to;
    switch (p->kind) {
    case SFSM_PERIOD_YEAR:
        from = days_from_civil(p->year, 1, 1);
        to = days_from_civil(p->year + 1, 1, 1);
        break;
    case SFSM_PERIOD_QUARTER:
        from = days_from_civil(p->year, 3 * (p->index - 1) + 1, 1);
        to = p->index == 4 ? days_from_civil(p->year + 1, 1, 1) : days_from_civil(p->year, 3 * p->index + 1, 1);
        break;
    case SFSM_PERIOD_MONTH:
        from = days_from_civil(p->year, p->index, 1);
        to = p->index == 12 ? days_from_civil(p->year + 1, 1, 1) : days_from_civil(p->year, p->index + 1, 1);
        break;
    default: /* SFSM_PERIOD_WEEK, checked above */
        from = iso_week1_monday(p->year) + 7 * (int64_t)(p->index - 1);
        to = from + 7;
        break;
    }
    *from_ms = from * DAY_MS;
    *to_ms = to * DAY_MS;
    return SFSM_OK;
}
