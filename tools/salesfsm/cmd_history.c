/* history: the audit trail of one opportunity, oldest first. */
#include "cli.h"
#include "commands.h"

static int print_entry_text(const sfsm_history_entry *h, void *ud)
{
    (void)ud;
    cli_history_text(stdout, h);
    return 0;
}

static int print_entry_json(const sfsm_history_entry *h, void *ud)
{
    cli_history_json(ud, h);
    return 0;
}

int cmd_history(int argc, char **argv)
{
    static const cli_spec spec = {
        "history", "ID [--json] [--db FILE] [--pipeline FILE.json]",
        "Shows the audit history of an opportunity, oldest first: every create,\n"
        "transition and update with its time, actor, role, changed fields and note.\n\n"
        "  --json                as a JSON array of entries\n" CLI_STORE_HELP,
        1, 1
    };
    const char *db = NULL, *pipeline = NULL;
    int json = 0;
    const cli_opt opts[] = { { "json", NULL, &json }, CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL } };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    /* Open the opportunity first, so that a missing one fails before any output. */
    sfsm_opp *o = NULL;
    if ((rc = sfsm_opp_open(env.engine, args[0], &o)) == SFSM_OK) {
        if (json) {
            jsonw w;
            jw_init(&w, stdout);
            jw_begin_array(&w);
            rc = sfsm_opp_history(env.engine, args[0], print_entry_json, &w);
            jw_end_array(&w);
            jw_finish(&w);
        } else {
            printf("history of %s:\n", args[0]);
            rc = sfsm_opp_history(env.engine, args[0], print_entry_text, NULL);
        }
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    sfsm_opp_free(o);
    cli_env_close(&env);
    return rc;
}
