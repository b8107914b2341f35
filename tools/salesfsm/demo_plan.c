/*
 * The demo's plan and its closing reports: the reps in two teams, an annual
 * target per rep and per team split into quarters (a slow first quarter, a
 * strong fourth), and at the end of the summary a forecast for the quarter
 * after the simulation and the attainment of the quarter it ended in, both
 * computed by the library's reports.
 */
#include <string.h>
#include <time.h>

#include "cli.h"
#include "demo.h"

const char *const demo_rep_team[DEMO_REPS] = { "East", "East", "South", "South" };
const char *const demo_teams[DEMO_TEAMS] = { "East", "South" };

/* CNY 14,000,000.00 a year per rep, in fen; a team's is its reps'. */
#define REP_TARGET INT64_C(1400000000)
static const uint32_t quarter_weights[4] = { 2, 3, 3, 4 };

static int year_of(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    return gmtime_r(&t, &tm) ? tm.tm_year + 1900 : 1970;
}

/* The quarter that holds ms. */
static sfsm_period quarter_of(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    sfsm_period p = { 1970, SFSM_PERIOD_QUARTER, 1 };
    if (gmtime_r(&t, &tm)) {
        p.year = tm.tm_year + 1900;
        p.index = tm.tm_mon / 3 + 1;
    }
    return p;
}

static int64_t end_ms(const demo_config *cfg)
{
    return DEMO_START_MS + cfg->days * DEMO_DAY_MS;
}

int demo_plan(sfsm_engine *e, const demo_config *cfg)
{
    int rc = SFSM_OK;
    for (int i = 0; i < DEMO_REPS && !rc; i++)
        rc = sfsm_team_set(e, demo_reps[i].name, demo_rep_team[i]);
    int first = year_of(DEMO_START_MS), last = year_of(end_ms(cfg) - 1);
    for (int y = first; y <= last && !rc; y++) {
        sfsm_target t = { SFSM_SUBJECT_OWNER, NULL, { y, SFSM_PERIOD_YEAR, 1 }, REP_TARGET, "CNY" };
        for (int i = 0; i < DEMO_REPS && !rc; i++) {
            t.subject = demo_reps[i].name;
            rc = sfsm_target_split(e, &t, SFSM_PERIOD_QUARTER, quarter_weights, 4);
        }
        t.subject_kind = SFSM_SUBJECT_TEAM;
        for (int k = 0; k < DEMO_TEAMS && !rc; k++) {
            t.subject = demo_teams[k];
            t.amount = 0;
            for (int i = 0; i < DEMO_REPS; i++)
                if (strcmp(demo_rep_team[i], demo_teams[k]) == 0)
                    t.amount += REP_TARGET;
            rc = sfsm_target_split(e, &t, SFSM_PERIOD_QUARTER, quarter_weights, 4);
        }
    }
    return rc;
}

void demo_plan_print(FILE *f)
{
    char money[48];
    fprintf(f, "teams:");
    for (int k = 0; k < DEMO_TEAMS; k++) {
        fprintf(f, "%s %s (", k ? ";" : "", demo_teams[k]);
        for (int i = 0, n = 0; i < DEMO_REPS; i++)
            if (strcmp(demo_rep_team[i], demo_teams[k]) == 0)
                fprintf(f, "%s%s", n++ ? ", " : "", demo_reps[i].name);
        fputc(')', f);
    }
    fprintf(f, "; target CNY %s a year per rep, split %u:%u:%u:%u into quarters\n\n",
            cli_format_amount(REP_TARGET, money, sizeof money), quarter_weights[0], quarter_weights[1],
            quarter_weights[2], quarter_weights[3]);
}

static int print_report(sfsm_engine *e, int (*run)(sfsm_engine *, const sfsm_report_filter *, sfsm_report **),
                        const sfsm_period *p, const char *title, FILE *f)
{
    sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
    char name[16];
    int rc = sfsm_period_bounds(p, &flt.from_ms, &flt.to_ms);
    sfsm_report *r = NULL;
    if (!rc)
        rc = run(e, &flt, &r);
    if (!rc) {
        fprintf(f, "%s %s\n", title, cli_format_period(p, name, sizeof name));
        rc = cli_report_print(r, f);
        fputc('\n', f);
    }
    sfsm_report_free(r);
    return rc;
}

int demo_reports(sfsm_engine *e, const demo_config *cfg, FILE *f)
{
    sfsm_period last = quarter_of(end_ms(cfg) - 1), next = last;
    if (++next.index > 4) {
        next.index = 1;
        next.year++;
    }
    int rc = print_report(e, sfsm_report_forecast, &next, "forecast for", f);
    if (!rc)
        rc = print_report(e, sfsm_report_attainment, &last, "attainment against target,", f);
    return rc;
}
