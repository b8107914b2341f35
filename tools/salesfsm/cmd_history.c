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

static int history_json(const cli_store_cmd *cmd, const sfsm_opp *o, jsonw *w)
{
    (void)o;
    jw_begin_array(w);
    int rc = sfsm_opp_history(cmd->env.engine, cmd->arg, print_entry_json, w);
    if (rc == SFSM_OK)
        jw_end_array(w);   /* a failed read leaves the array open: no document that looks whole */
    return rc;
}

static int history_text(const cli_store_cmd *cmd, const sfsm_opp *o)
{
    (void)o;
    printf("history of %s:\n", cli_tx(cmd->arg));
    return sfsm_opp_history(cmd->env.engine, cmd->arg, print_entry_text, NULL);
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
    static const cli_opp_view view = { history_json, history_text };
    return cli_run_opp_cmd(&spec, argc, argv, &view);
}
