/* Dates and calendar periods on the command line: "2026-07-01" (UTC
 * midnight) and the period shorthands "2026", "2026-Q3", "2026-07",
 * "2026-W27" (ISO week). Period bounds come from the library
 * (sfsm_period_bounds), so the CLI and the reports agree on them. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n digits at p; their value in *v. */
static int digits(const char *p, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return 0;
}

static int refuse(char *why, size_t size, const char *what, const char *text, const char *reason)
{
    snprintf(why, size, "'%s' is not a %s: %s", text, what, reason);
    return -1;
}

int cli_parse_date(const char *text, int64_t *ms, char *why, size_t why_size)
{
    int y, m, d;
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' || digits(text, 4, &y) ||
        digits(text + 5, 2, &m) || digits(text + 8, 2, &d))
        return refuse(why, why_size, "date", text, "expected YYYY-MM-DD");
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1970)
        return refuse(why, why_size, "date", text, "the year must be 1970 or later");
    if (m < 1 || m > 12)
        return refuse(why, why_size, "date", text, "no such month");
    if (d < 1 || d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return refuse(why, why_size, "date", text, "no such day in that month");
    *ms = days_from_civil(y, (unsigned)m, (unsigned)d) * INT64_C(86400000);
    return 0;
}

int cli_parse_period(const char *text, sfsm_period *p, char *why, size_t why_size)
{
    static const char *const expected = "expected YYYY, YYYY-Qn, YYYY-MM or YYYY-Wnn";
    size_t n = strlen(text);
    int y, ix = 1;
    sfsm_period_kind kind = SFSM_PERIOD_YEAR;
    if (n < 4 || digits(text, 4, &y))
        return refuse(why, why_size, "period", text, expected);
    if (n == 4) {
        /* the year */
    } else if (n == 7 && text[4] == '-' && (text[5] == 'Q' || text[5] == 'q') && !digits(text + 6, 1, &ix)) {
        kind = SFSM_PERIOD_QUARTER;
    } else if (n == 7 && text[4] == '-' && !digits(text + 5, 2, &ix)) {
        kind = SFSM_PERIOD_MONTH;
    } else if (n == 8 && text[4] == '-' && (text[5] == 'W' || text[5] == 'w') && !digits(text + 6, 2, &ix)) {
        kind = SFSM_PERIOD_WEEK;
    } else {
        return refuse(why, why_size, "period", text, expected);
    }
    p->year = y;
    p->kind = kind;
    p->index = ix;
    int64_t from, to;
    if (sfsm_period_bounds(p, &from, &to) != SFSM_OK)
        return refuse(why, why_size, "period", text,
                      kind == SFSM_PERIOD_QUARTER ? "quarters are Q1 to Q4"
                      : kind == SFSM_PERIOD_MONTH ? "months are 01 to 12"
                      : kind == SFSM_PERIOD_WEEK  ? "that year has no such ISO week"
                                                  : "the year must be from 1970 to 9999");
    return 0;
}

int cli_parse_period_range(const char *text, int64_t *from, int64_t *to, char *why, size_t why_size)
{
    sfsm_period p;
    if (cli_parse_period(text, &p, why, why_size) != 0)
        return -1;
    return sfsm_period_bounds(&p, from, to) == SFSM_OK ? 0 : refuse(why, why_size, "period", text, "out of range");
}

int cli_parse_when(const char *text, int end_of, int64_t *ms, char *why, size_t why_size)
{
    if (strlen(text) == 10)
        return cli_parse_date(text, ms, why, why_size);
    int64_t from, to;
    char period_why[200];
    if (cli_parse_period_range(text, &from, &to, period_why, sizeof period_why) != 0)
        return refuse(why, why_size, "date", text, "expected YYYY-MM-DD or a period (YYYY, YYYY-Qn, YYYY-MM, YYYY-Wnn)");
    *ms = end_of ? to : from;
    return 0;
}

char *cli_format_period(const sfsm_period *p, char *buf, size_t size)
{
    switch (p->kind) {
    case SFSM_PERIOD_YEAR: snprintf(buf, size, "%d", p->year); break;
    case SFSM_PERIOD_QUARTER: snprintf(buf, size, "%d-Q%d", p->year, p->index); break;
    case SFSM_PERIOD_MONTH: snprintf(buf, size, "%d-%02d", p->year, p->index); break;
    case SFSM_PERIOD_WEEK: snprintf(buf, size, "%d-W%02d", p->year, p->index); break;
    default: snprintf(buf, size, "%d-?%d", p->year, p->index); break;
    }
    return buf;
}

char *cli_format_date(int64_t ms, char *buf, size_t size)
{
    char t[40];
    cli_format_time(ms, t, sizeof t);
    snprintf(buf, size, "%.10s", t);
    return buf;
}
