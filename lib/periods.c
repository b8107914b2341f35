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

/* The civil date of a day number (days_from_civil's inverse). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
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

int sfsm__period_of(int64_t from_ms, int64_t to_ms, sfsm_period *out)
{
    if (from_ms % DAY_MS != 0 || to_ms % DAY_MS != 0)
        return -1;
    int64_t day = from_ms / DAY_MS, y, wy;
    int m, d, wm, wd;
    civil_from_days(day, &y, &m, &d);
    civil_from_days(day + 3, &wy, &wm, &wd);   /* the Thursday, if day is a Monday */
    if (wy < SFSM_PERIOD_YEAR_MIN || wy > SFSM_PERIOD_YEAR_MAX)
        return -1;   /* y is then out of range too, or the week's year is */
    /* The candidates that start at from, most inclusive first; a period
     * that is valid and ends at `to` is the one. */
    const sfsm_period cand[] = {
        { (int)y, SFSM_PERIOD_YEAR, 1 },
        { (int)y, SFSM_PERIOD_QUARTER, (m - 1) / 3 + 1 },
        { (int)y, SFSM_PERIOD_MONTH, m },
        { (int)wy, SFSM_PERIOD_WEEK, (int)((day - iso_week1_monday((int)wy)) / 7 + 1) },
    };
    for (size_t k = 0; k < sizeof cand / sizeof cand[0]; k++) {
        const sfsm_period *c = &cand[k];
        if (c->year < SFSM_PERIOD_YEAR_MIN || c->year > SFSM_PERIOD_YEAR_MAX || c->index < 1 ||
            c->index > sfsm__period_parts(c->year, c->kind))
            continue;   /* checked here: sfsm_period_bounds would set an error */
        int64_t lo, hi;
        if (sfsm_period_bounds(c, &lo, &hi) == SFSM_OK && lo == from_ms && hi == to_ms) {
            *out = *c;
            return 0;
        }
    }
    return -1;
}
