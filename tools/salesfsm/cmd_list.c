/* list: the stored opportunities matching a filter, in creation order. */
#include "cli.h"
#include "commands.h"

typedef struct list_state {
    jsonw *w;          /* NULL: text */
    size_t count;
} list_state;

static int print_row(const sfsm_opp *o, void *ud)
{
    list_state *st = ud;
    st->count++;
    if (st->w) {
        cli_opp_json(st->w, o);
        return 0;
    }
    char money[48] = "-";
    if (sfsm_opp_currency(o)) {
        char n[40];
        snprintf(money, sizeof money, "%s %s", cli_tx(sfsm_opp_currency(o)),
                 cli_format_amount(sfsm_opp_amount(o), n, sizeof n));
    }
    printf("%-20s %-12s %20s  %-16s %s\n", cli_tx(sfsm_opp_id(o)), cli_tx(sfsm_opp_stage(o)), money,
           cli_tx(sfsm_opp_owner(o)), cli_tx(sfsm_opp_customer(o)));
    return 0;
}

int cmd_list(int argc, char **argv)
{
    static const cli_spec spec = {
        "list", "[--stage S] [--owner O] [--customer C] [--json] [--db FILE] [--pipeline FILE.json]",
        "Lists the stored opportunities in creation order, all of them or those\n"
        "matching every filter given.\n\n"
        "  --stage S             only those at stage S\n"
        "  --owner O             only those owned by O\n"
        "  --customer C          only those of customer C\n"
        "  --json                as a JSON array of opportunities\n" CLI_STORE_HELP,
        0, 0
    };
    const char *db = NULL, *pipeline = NULL;
    sfsm_filter f = SFSM_FILTER_INIT;
    int json = 0;
    const cli_opt opts[] = {
        { "stage", &f.stage, NULL }, { "owner", &f.owner, NULL }, { "customer", &f.customer, NULL },
        { "json", NULL, &json },     CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    /* An unknown stage fails before anything is printed. */
    size_t stage_ix;
    if (f.stage && (rc = sfsm_pipeline_stage_index(env.pipeline, f.stage, &stage_ix)) != SFSM_OK) {
        cli_env_close(&env);
        return cli_fail(rc);
    }
    jsonw w;
    list_state st = { json ? &w : NULL, 0 };
    if (json) {
        jw_init(&w, stdout);
        jw_begin_array(&w);
    } else {
        printf("%-20s %-12s %20s  %-16s %s\n", "ID", "STAGE", "AMOUNT", "OWNER", "CUSTOMER");
    }
    rc = sfsm_scan(env.engine, &f, print_row, &st);
    if (json) {
        if (rc == SFSM_OK)
            jw_end_array(&w);   /* a failed read leaves the array open: no document that looks whole */
        rc = jw_finish(&w, rc);
    } else if (rc == SFSM_OK) {
        printf("%zu opportunit%s\n", st.count, st.count == 1 ? "y" : "ies");
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&env);
    return rc;
}
