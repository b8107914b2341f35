/*
 * salesfsm/report.h — what a sales department asks every week (销售数据分析
 * 与报告): pipeline, forecast, funnel, win rate, velocity, stale deals,
 * calibration of the stage probabilities, attainment against targets and
 * receivables. docs/reports.md explains each figure and how it is computed.
 *
 * Every report is a table (an sfsm_report): named columns, rows of cells
 * that are either text or 64-bit integers, or null. Money is always in
 * minor units with a currency column beside it: two currencies are never
 * added together. Rates are integers in basis points (1/100 of a percent,
 * rounded down) next to the counts they come from; durations are in ms.
 * Sums and durations that would overflow int64 make the report fail with
 * SFSM_EINVAL (the message names the opportunity whose value overflowed,
 * where one did) rather than wrap. A duration is never negative: an
 * interval whose end precedes its start (a clock or as_of behind the data,
 * skewed clocks) counts as 0. A record, history entry, payment, team or
 * target the store hands back that breaks the rules the import enforces
 * makes the report fail with SFSM_ESTORAGE naming the opportunity and the
 * field. Reports only read; they change nothing.
 *
 * Common rules: an event, entry or payment stamped exactly at as_of counts
 * as before it. Opportunities without an amount form a group with a null
 * currency, never added to another. A null owner reads as "" in per-owner
 * rows. Reports that do not mention the period ignore it (stale,
 * calibration, receivables).
 */
#ifndef SALESFSM_REPORT_H
#define SALESFSM_REPORT_H

#include "common.h"
#include "opp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sfsm_report sfsm_report;

/* Which opportunities a report looks at. NULL members match anything. */
typedef struct sfsm_report_filter {
    unsigned int version;      /* SFSM_REPORT_FILTER_VERSION */
    const char *owner;
    const char *team;          /* owners in this team (sfsm_team_set) */
    const char *customer;
    int64_t from_ms, to_ms;    /* the period [from, to); each report says what
                                  falls into it; both 0: no period */
    int64_t as_of_ms;          /* 0: the data as it stands; otherwise the data
                                  as the history stood at that moment */
} sfsm_report_filter;

#define SFSM_REPORT_FILTER_VERSION 1
#define SFSM_REPORT_FILTER_INIT { SFSM_REPORT_FILTER_VERSION, NULL, NULL, NULL, 0, 0, 0 }
SFSM_API int sfsm_report_filter_init(sfsm_report_filter *f, unsigned int version);

/*
 * The reports. Each writes a new table to *out (free with sfsm_report_free;
 * NULL after a failure). f NULL is SFSM_REPORT_FILTER_INIT. Errors:
 * SFSM_EINVAL (bad filter: from > to, a period a report requires is
 * missing; an int64 overflow), SFSM_EVERSION (filter version), SFSM_ENOMEM,
 * SFSM_ESTORAGE (the store failed, or handed back corrupt data), SFSM_EBUSY
 * (from a hook or callback on the same store).
 * Columns are listed as name:type (t text, i integer).
 */

/* pipeline — one row per (stage, currency) with opportunities, every stage
 * (won and lost included) in table order: stage:t currency:t count:i
 * amount:i weighted:i (Σ amount × probability / 100, rounded down once per
 * row). The period, if given, selects opportunities whose expected close
 * date falls in it (those without one are left out). */
SFSM_API int sfsm_report_pipeline(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* forecast — the period is required. One row per (category, currency):
 * category:t currency:t count:i amount:i weighted:i. Category "closed" holds
 * opportunities won in the period (first entry into a won stage inside it;
 * weighted = amount); "pipeline", "best_case", "commit" hold open
 * opportunities expected to close in the period, by their stage's forecast
 * category, weighted by its probability (rounded down once per row). Only
 * categories with opportunities get a row, in the order closed, pipeline,
 * best_case, commit; then one row per currency with category "total": the
 * sum of that currency's rows above. */
SFSM_API int sfsm_report_forecast(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* funnel — of the opportunities created in the period, how many ever
 * reached each stage (from the history): stage:t reached:i next:t
 * converted:i rate_bp:i, in table order over the stages of open and won
 * outcome; next is the following such stage, converted the number that
 * also reached it (next, converted and rate_bp are null in the last row;
 * rate_bp is null when reached is 0). */
SFSM_API int sfsm_report_funnel(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* win rate — over opportunities whose last close (entry into a won or lost
 * stage from an open one) falls in the period: owner:t won:i lost:i
 * rate_bp:i (won / (won + lost)); one row per owner (null owner: "") sorted
 * by owner, then a row with owner null for everyone, always present (0/0
 * gives a null rate). A deal lost, reopened and still open counts as lost. */
SFSM_API int sfsm_report_win_rate(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* velocity — stays that ended (the opportunity left the stage) in the
 * period: stage:t stays:i avg_ms:i median_ms:i, stages in table order; then
 * rows with stage "cycle": per owner (owner:t column, null in stage rows)
 * the median ms from creation to the first won stage of opportunities won in
 * the period, count in stays. Columns: stage:t owner:t stays:i avg_ms:i
 * median_ms:i (a median of an even count is the lower middle). */
SFSM_API int sfsm_report_velocity(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* stale — open opportunities whose time in their stage exceeds the stage's
 * stale-after days at as_of_ms (0: the engine clock's now), oldest stage
 * entry first: id:t stage:t owner:t customer:t entered_ms:i days_in_stage:i
 * stale_days:i. A clock behind the stage entry counts 0 days: not stale. */
SFSM_API int sfsm_report_stale(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* calibration — per stage with probability (open stages): stage:t
 * probability:i closed:i won:i observed_bp:i — of the opportunities that were
 * ever in that stage and are now (or as of) closed, how many are won. */
SFSM_API int sfsm_report_calibration(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* attainment — for a period (required; must be exactly one calendar year,
 * quarter, month or ISO week): per subject with a target for that period,
 * owners then teams: subject_kind:t ("owner"/"team") subject:t currency:t
 * target:i won:i attainment_bp:i (null when the target is 0). won = amounts
 * of opportunities first won in the period, by owner; a team's won is its
 * members' (current membership). An owner filter keeps that owner's row and
 * the rows of teams containing the owner; a team filter keeps the team's
 * row and its members' rows. */
SFSM_API int sfsm_report_attainment(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* receivables — won opportunities with their payments up to as_of: id:t
 * owner:t currency:t won:i collected:i outstanding:i won_ms:i
 * outstanding_ms:i (as_of − won_ms while something is outstanding, else
 * null; 0 when as_of is before won_ms), by id; then per (owner, currency) a row with id null summing them
 * (won_ms and outstanding_ms null there). */
SFSM_API int sfsm_report_receivables(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

/* ---- reading a report ---- */

SFSM_API void sfsm_report_free(sfsm_report *r);              /* accepts NULL */
SFSM_API const char *sfsm_report_name(const sfsm_report *r);  /* "pipeline", … */
SFSM_API size_t sfsm_report_row_count(const sfsm_report *r);
SFSM_API size_t sfsm_report_column_count(const sfsm_report *r);
SFSM_API const char *sfsm_report_column_name(const sfsm_report *r, size_t col);
/* Column index by name; SFSM_ENOTFOUND if the report has no such column. */
SFSM_API int sfsm_report_column(const sfsm_report *r, const char *name, size_t *col);
/* Non-zero if the cell is null (also for a row or column out of range). */
SFSM_API int sfsm_report_is_null(const sfsm_report *r, size_t row, size_t col);
/* A text cell (NULL if null or not text); valid until the report is freed. */
SFSM_API const char *sfsm_report_text(const sfsm_report *r, size_t row, size_t col);
/* An integer cell (0 if null or not integer). */
SFSM_API int64_t sfsm_report_int(const sfsm_report *r, size_t row, size_t col);

/*
 * The report as JSON: {"report": name, "columns": [...], "rows": [[...]]}.
 * *out is NUL-terminated, freed with sfsm_free; *len may be NULL.
 * Always valid JSON: control characters are escaped, and a text cell that
 * is not valid UTF-8 (only from a corrupt store) is SFSM_ESTORAGE naming the
 * row and column. Errors: SFSM_EINVAL, SFSM_ENOMEM, SFSM_ESTORAGE.
 */
SFSM_API int sfsm_report_to_json(const sfsm_report *r, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
