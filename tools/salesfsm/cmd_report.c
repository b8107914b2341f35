/* report: one of the library's nine reports (report.h) over the store, as an
 * aligned table or as JSON. */
#include <string.h>

#include "cli.h"
#include "commands.h"

typedef int (*report_fn)(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

typedef struct report_kind {
    const char *name;
    report_fn run;
    int needs_period;
} report_kind;

static const report_kind kinds[] = {
    { "pipeline", sfsm_report_pipeline, 0 },       { "forecast", sfsm_report_forecast, 1 },
    { "funnel", sfsm_report_funnel, 0 },           { "win-rate", sfsm_report_win_rate, 0 },
    { "velocity", sfsm_report_velocity, 0 },       { "stale", sfsm_report_stale, 0 },
    { "calibration", sfsm_report_calibration, 0 }, { "attainment", sfsm_report_attainment, 1 },
    { "receivables", sfsm_report_receivables, 0 },
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* Year 10000, 00:00 UTC: the end of an open-ended period (--from alone). */
#define END_OF_TIME INT64_C(253402300800000)

static const report_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].name, name) == 0 || (strcmp(name, "win_rate") == 0 && i == 3))
            return &kinds[i];
    return NULL;
}

int cmd_report(int argc, char **argv)
{
    static const cli_spec spec = {
        "report",
        "KIND [--owner O] [--team T] [--customer C] [--period P | --from DATE --to DATE]\n"
        "                       [--as-of DATE] [--json] [--db FILE] [--pipeline FILE.json]",
        "Prints one report over the store. KIND is one of:\n"
        "  pipeline     open and closed amounts per stage and currency, weighted\n"
        "  forecast     closed, commit, best case and pipeline for a period (required)\n"
        "  funnel       of the opportunities created in the period, how many reached each stage\n"
        "  win-rate     won and lost per owner, closes in the period\n"
        "  velocity     time spent per stage, and the sales cycle per owner\n"
        "  stale        open opportunities too long in their stage (as of --as-of or now)\n"
        "  calibration  the stage probabilities against what actually closed\n"
        "  attainment   won against target per owner and team (one year, quarter, month\n"
        "               or ISO week: --period is required)\n"
        "  receivables  won amounts, payments collected and outstanding\n"
        "docs/reports.md says how each figure is computed.\n\n"
        "  --owner O             only opportunities owned by O\n"
        "  --team T              only opportunities of the owners in team T\n"
        "  --customer C          only opportunities of customer C\n"
        "  --period P            the period: 2026, 2026-Q3, 2026-07 or 2026-W27 (ISO week)\n"
        "  --from DATE           the period's start, YYYY-MM-DD (UTC midnight) or the\n"
        "                        start of a period shorthand\n"
        "  --to DATE             the period's end (exclusive), YYYY-MM-DD or the end of a\n"
        "                        period shorthand\n"
        "  --as-of DATE          the data as the history stood at that moment\n"
        "  --json                as JSON: {\"report\", \"columns\", \"rows\"}, money in minor\n"
        "                        units, rates in basis points, durations and times in ms\n" CLI_STORE_HELP,
        1, 1
    };
    const char *db = NULL, *pipeline = NULL, *from = NULL, *to = NULL, *period = NULL, *as_of = NULL;
    int json = 0;
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    const cli_opt opts[] = {
        { "owner", &f.owner, NULL }, { "team", &f.team, NULL },     { "customer", &f.customer, NULL },
        { "from", &from, NULL },     { "to", &to, NULL },           { "period", &period, NULL },
        { "as-of", &as_of, NULL },   { "json", NULL, &json },       CLI_STORE_OPTS(db, pipeline),
        { NULL, NULL, NULL },
    };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    const report_kind *kind = find_kind(args[0]);
    if (!kind)
        return cli_usage_error(&spec,
                               "unknown report kind '%s' (pipeline, forecast, funnel, win-rate, velocity, stale, "
                               "calibration, attainment, receivables)",
                               args[0]);
    char why[256];
    if (period && (from || to))
        return cli_usage_error(&spec, "--period and --from/--to exclude each other");
    if (period && cli_parse_period_range(period, &f.from_ms, &f.to_ms, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--period: %s", why);
    if (from && cli_parse_when(from, 0, &f.from_ms, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--from: %s", why);
    if (to && cli_parse_when(to, 1, &f.to_ms, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--to: %s", why);
    if (from && !to)
        f.to_ms = END_OF_TIME;
    if (from && to && f.from_ms >= f.to_ms)
        return cli_usage_error(&spec, "--from %s is not before --to %s", from, to);
    if (as_of && cli_parse_when(as_of, 0, &f.as_of_ms, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--as-of: %s", why);
    if (kind->needs_period && !period && !from && !to)
        return cli_usage_error(&spec, "the %s report needs a period: --period P or --from/--to", kind->name);

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    sfsm_report *r = NULL;
    rc = kind->run(env.engine, &f, &r);
    if (rc == SFSM_OK)
        rc = json ? cli_report_json(r, stdout) : cli_report_print(r, stdout);
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    sfsm_report_free(r);
    cli_env_close(&env);
    return rc;
}
