/* Calendar periods of targets (targets.h): validation, ISO 8601 weeks, and
 * the period of given bounds. */
#ifndef SFSM_PERIODS_H
#define SFSM_PERIODS_H

#include <salesfsm/targets.h>

#define SFSM_PERIOD_YEAR_MIN 1970
#define SFSM_PERIOD_YEAR_MAX 9999

/* Number of ISO 8601 weeks of `year` (52 or 53). */
int sfsm__iso_weeks(int year);

/* Number of parts of a year of this kind (1, 4, 12, or the ISO week count);
 * 0 for an unknown kind. */
int sfsm__period_parts(int year, sfsm_period_kind kind);

/* Checks a period; on failure SFSM_EINVAL with a message naming
 * `what`.year, `what`.kind or `what`.index. */
int sfsm__period_check(const char *what, const sfsm_period *p);

/* The calendar period whose bounds are exactly [from_ms, to_ms) (UTC):
 * 0 and *out set, or -1 if there is none. Sets no error. */
int sfsm__period_of(int64_t from_ms, int64_t to_ms, sfsm_period *out);

#endif
