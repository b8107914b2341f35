/* target: sales targets per owner or team and calendar period (销售目标
 * 设定与分解), set one by one or split from an annual target. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

/* --owner O | --team T: exactly one (required) or at most one. */
static int take_subject(const cli_spec *spec, const char *owner, const char *team, int required, sfsm_target *t)
{
    if (owner && team)
        return cli_usage_error(spec, "--owner and --team exclude each other");
    if (required && !owner && !team)
        return cli_usage_error(spec, "--owner O or --team T is required");
    t->subject_kind = team ? SFSM_SUBJECT_TEAM : SFSM_SUBJECT_OWNER;
    t->subject = team ? team : owner;
    return CLI_CONTINUE;
}

static const char *kind_name(sfsm_subject_kind k)
{
    return k == SFSM_SUBJECT_TEAM ? "team" : "owner";
}

typedef struct list_state {
    jsonw *w;                 /* NULL: text */
    int only_kind;            /* 0: every period kind */
    size_t count;
} list_state;

static int print_target(const sfsm_target *t, void *ud)
{
    list_state *st = ud;
    if (st->only_kind && (int)t->period.kind != st->only_kind && t->period.kind != SFSM_PERIOD_YEAR)
        return 0;
    char period[32], money[48];
    cli_format_period(&t->period, period, sizeof period);
    st->count++;
    if (st->w) {
        jsonw *w = st->w;
        jw_begin_object(w);
        jw_key(w, "subject_kind");
        jw_string(w, kind_name(t->subject_kind));
        jw_key(w, "subject");
        jw_string(w, t->subject);
        jw_key(w, "period");
        jw_string(w, period);
        jw_key(w, "amount");
        jw_int(w, t->amount);
        jw_key(w, "currency");
        jw_string(w, t->currency);
        jw_end_object(w);
    } else {
        printf("%-6s %-20s %-9s %-4s %20s\n", kind_name(t->subject_kind), cli_tx(t->subject), period, cli_tx(t->currency),
               cli_format_amount(t->amount, money, sizeof money));
    }
    return 0;
}

static void print_heading(void)
{
    printf("%-6s %-20s %-9s %-4s %20s\n", "KIND", "SUBJECT", "PERIOD", "CUR", "TARGET");
}

static int target_set(int argc, char **argv)
{
    static const cli_spec spec = {
        "target set",
        "--owner O|--team T --period P --amount A [--currency CNY] [--db FILE] [--pipeline FILE.json]",
        "Sets (or replaces) the target of an owner or a team for one calendar period.\n\n"
        "  --owner O             the owner (rep) the target is for\n"
        "  --team T              or the team\n"
        "  --period P            2026, 2026-Q3, 2026-07 or 2026-W27 (ISO week)\n"
        "  --amount A            the target in major units, at most two decimals (0 allowed)\n"
        "  --currency CNY        ISO 4217 code (default: CNY)\n" CLI_STORE_HELP,
        0, 0
    };
    const char *owner = NULL, *team = NULL, *period = NULL, *amount = NULL, *currency = "CNY";
    const char *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = {
        { "owner", &owner, NULL },   { "team", &team, NULL },         { "period", &period, NULL },
        { "amount", &amount, NULL }, { "currency", &currency, NULL }, CLI_STORE_OPTS(db, pipeline),
        { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    sfsm_target t;
    memset(&t, 0, sizeof t);
    if ((rc = take_subject(&spec, owner, team, 1, &t)) != CLI_CONTINUE)
        return rc;
    char why[256];
    if (!period || !amount)
        return cli_usage_error(&spec, "--period and --amount are required");
    if (cli_parse_period(period, &t.period, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--period: %s", why);
    if (cli_parse_amount(amount, &t.amount, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--amount: %s", why);
    t.currency = currency;

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 1) != CLI_OK)
        return CLI_FAIL;
    rc = sfsm_target_set(env.engine, &t);
    if (rc == SFSM_OK) {
        char p[32], money[48];
        printf("target of %s %s for %s: %s %s\n", kind_name(t.subject_kind), cli_tx(t.subject),
               cli_format_period(&t.period, p, sizeof p), t.currency, cli_format_amount(t.amount, money, sizeof money));
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&env);
    return rc;
}

/* "1,2,3,4" into at most max weights. 0, or -1. */
static int parse_weights(const char *text, uint32_t *w, size_t max, size_t *count)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        char digits[16];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof digits || n == max)
            return -1;
        memcpy(digits, p, len);
        digits[len] = '\0';
        uint64_t v;
        if (cli_parse_uint(digits, 0, UINT32_MAX, &v) != 0)
            return -1;
        w[n++] = (uint32_t)v;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *count = n;
    return 0;
}

static int target_split(int argc, char **argv)
{
    static const cli_spec spec = {
        "target split",
        "--owner O|--team T --year Y --amount A --into quarters|months|weeks\n"
        "                       [--weights 1,2,3,4] [--currency CNY] [--db FILE] [--pipeline FILE.json]",
        "Sets the annual target of an owner or a team and splits it into quarters,\n"
        "months or ISO weeks, all in one transaction. The parts are whole fen (cents)\n"
        "and add up exactly to the annual amount: each is floor(amount * weight / sum)\n"
        "and the remainder goes, one unit each, to the earliest parts.\n\n"
        "  --owner O             the owner (rep) the target is for\n"
        "  --team T              or the team\n"
        "  --year Y              the year, 1970..9999\n"
        "  --amount A            the annual target in major units, at most two decimals\n"
        "  --into KIND           quarters, months or weeks (ISO weeks: 52 or 53)\n"
        "  --weights W,W,...     one non-negative integer weight per part (default: even)\n"
        "  --currency CNY        ISO 4217 code (default: CNY)\n" CLI_STORE_HELP,
        0, 0
    };
    const char *owner = NULL, *team = NULL, *year = NULL, *amount = NULL, *into = NULL, *weights = NULL;
    const char *currency = "CNY", *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = {
        { "owner", &owner, NULL },     { "team", &team, NULL },       { "year", &year, NULL },
        { "amount", &amount, NULL },   { "into", &into, NULL },       { "weights", &weights, NULL },
        { "currency", &currency, NULL }, CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    sfsm_target t;
    memset(&t, 0, sizeof t);
    if ((rc = take_subject(&spec, owner, team, 1, &t)) != CLI_CONTINUE)
        return rc;
    if (!year || !amount || !into)
        return cli_usage_error(&spec, "--year, --amount and --into are required");
    uint64_t y;
    if (cli_parse_uint(year, 1970, 9999, &y) != 0)
        return cli_usage_error(&spec, "--year: '%s' is not a year from 1970 to 9999", year);
    char why[256];
    if (cli_parse_amount(amount, &t.amount, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--amount: %s", why);
    sfsm_period_kind kind;
    size_t expect;
    if (strcmp(into, "quarters") == 0) {
        kind = SFSM_PERIOD_QUARTER;
        expect = 4;
    } else if (strcmp(into, "months") == 0) {
        kind = SFSM_PERIOD_MONTH;
        expect = 12;
    } else if (strcmp(into, "weeks") == 0) {
        kind = SFSM_PERIOD_WEEK;
        expect = 0;   /* 52 or 53: the library knows the year */
    } else {
        return cli_usage_error(&spec, "--into: '%s' is not quarters, months or weeks", into);
    }
    uint32_t w[53];
    size_t nw = 0;
    if (weights && parse_weights(weights, w, 53, &nw) != 0)
        return cli_usage_error(&spec, "--weights: '%s' is not a list of non-negative integers like 1,2,3,4", weights);
    if (weights && expect && nw != expect)
        return cli_usage_error(&spec, "--weights: %zu weights given, %s need %zu", nw, into, expect);
    t.period.year = (int)y;
    t.period.kind = SFSM_PERIOD_YEAR;
    t.period.index = 1;
    t.currency = currency;

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 1) != CLI_OK)
        return CLI_FAIL;
    rc = sfsm_target_split(env.engine, &t, kind, weights ? w : NULL, nw);
    if (rc == SFSM_OK) {
        list_state st = { NULL, (int)kind, 0 };
        print_heading();
        rc = sfsm_target_list(env.engine, t.subject_kind, t.subject, t.period.year, print_target, &st);
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&env);
    return rc;
}

static int target_list(int argc, char **argv)
{
    static const cli_spec spec = {
        "target list", "[--owner O|--team T] [--year Y] [--json] [--db FILE] [--pipeline FILE.json]",
        "Lists the stored targets, by subject, year and period.\n\n"
        "  --owner O             only the targets of owner O\n"
        "  --team T              only the targets of team T\n"
        "  --year Y              only those of year Y\n"
        "  --json                as a JSON array of {subject_kind, subject, period,\n"
        "                        amount (minor units), currency}\n" CLI_STORE_HELP,
        0, 0
    };
    const char *owner = NULL, *team = NULL, *year = NULL, *db = NULL, *pipeline = NULL;
    int json = 0;
    const cli_opt opts[] = {
        { "owner", &owner, NULL }, { "team", &team, NULL }, { "year", &year, NULL },
        { "json", NULL, &json },   CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    sfsm_target t;
    memset(&t, 0, sizeof t);
    if ((rc = take_subject(&spec, owner, team, 0, &t)) != CLI_CONTINUE)
        return rc;
    uint64_t y = 0;
    if (year && cli_parse_uint(year, 1970, 9999, &y) != 0)
        return cli_usage_error(&spec, "--year: '%s' is not a year from 1970 to 9999", year);

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    jsonw w;
    list_state st = { json ? &w : NULL, 0, 0 };
    if (json) {
        jw_init(&w, stdout);
        jw_begin_array(&w);
    } else {
        print_heading();
    }
    rc = sfsm_target_list(env.engine, t.subject_kind, t.subject, (int)y, print_target, &st);
    if (json) {
        if (rc == SFSM_OK)
            jw_end_array(&w);   /* a failed read leaves the array open: no document that looks whole */
        rc = jw_finish(&w, rc);
    } else if (rc == SFSM_OK) {
        printf("%zu target%s\n", st.count, st.count == 1 ? "" : "s");
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&env);
    return rc;
}

static const cli_group_cmd target_cmds[] = {
    { "set", target_set },
    { "split", target_split },
    { "list", target_list },
    { NULL, NULL },
};

int cmd_target(int argc, char **argv)
{
    static const cli_spec spec = {
        "target", "set | split | list  [OPTIONS]",
        "Sales targets of owners (reps) and teams per calendar period, measured by\n"
        "'report attainment'.\n\n"
        "  set                   set one period's target:\n"
        "                        --owner O|--team T --period P --amount A [--currency CNY]\n"
        "  split                 set an annual target and split it:\n"
        "                        --owner O|--team T --year Y --amount A\n"
        "                        --into quarters|months|weeks [--weights 1,2,3,4]\n"
        "  list                  list targets: [--owner O|--team T] [--year Y] [--json]\n"
        "'salesfsm target split --help' and so on describe each.\n",
        1, 1
    };
    return cli_run_group(&spec, target_cmds, argc, argv);
}
