/* team: which team each owner (rep) belongs to, for the reports' --team
 * filter and the team rows of attainment. */
#include <string.h>

#include "cli.h"
#include "commands.h"

static int team_set(int argc, char **argv)
{
    static const cli_spec spec = {
        "team set", "OWNER TEAM [--db FILE] [--pipeline FILE.json]",
        "Puts OWNER (as written in the opportunities' owner field) into TEAM,\n"
        "taking it out of any team it was in: an owner is in at most one team.\n\n" CLI_STORE_HELP,
        2, 2
    };
    const char *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = { CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL } };
    const char *args[2];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_env env;
    if (cli_env_open(&env, db, pipeline, 1) != CLI_OK)
        return CLI_FAIL;
    rc = sfsm_team_set(env.engine, args[0], args[1]);
    if (rc == SFSM_OK)
        printf("%s is in team %s\n", cli_tx(args[0]), cli_tx(args[1]));
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&env);
    return rc;
}

static int team_unset(int argc, char **argv)
{
    static const cli_spec spec = {
        "team unset", "OWNER [--db FILE] [--pipeline FILE.json]",
        "Takes OWNER out of its team (an owner in no team is an error).\n\n" CLI_STORE_HELP,
        1, 1
    };
    cli_store_cmd cmd;
    int rc = cli_store_cmd_open(&spec, CLI_NO_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = sfsm_team_set(cmd.env.engine, cmd.arg, NULL);
    if (rc == SFSM_OK)
        printf("%s is in no team\n", cli_tx(cmd.arg));
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&cmd.env);
    return rc;
}

typedef struct list_state {
    jsonw *w;           /* NULL: text */
    size_t count;
} list_state;

static int print_member(const char *owner, const char *team, void *ud)
{
    list_state *st = ud;
    st->count++;
    if (st->w) {
        jw_begin_object(st->w);
        jw_key(st->w, "team");
        jw_string(st->w, team);
        jw_key(st->w, "owner");
        jw_string(st->w, owner);
        jw_end_object(st->w);
    } else {
        printf("%-20s %s\n", cli_tx(team), cli_tx(owner));
    }
    return 0;
}

static int team_list(int argc, char **argv)
{
    static const cli_spec spec = {
        "team list", "[TEAM] [--json] [--db FILE] [--pipeline FILE.json]",
        "Lists team memberships, by team then owner: all teams, or TEAM's.\n\n"
        "  --json                as a JSON array of {\"team\", \"owner\"}\n" CLI_STORE_HELP,
        0, 1
    };
    cli_store_cmd cmd;
    int rc = cli_store_cmd_open(&spec, CLI_WITH_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    jsonw w;
    list_state st = { cmd.json ? &w : NULL, 0 };
    if (cmd.json) {
        jw_init(&w, stdout);
        jw_begin_array(&w);
    } else {
        printf("%-20s %s\n", "TEAM", "OWNER");
    }
    rc = sfsm_team_list(cmd.env.engine, cmd.arg, print_member, &st);
    if (cmd.json) {
        if (rc == SFSM_OK)
            jw_end_array(&w);   /* a failed read leaves the array open: no document that looks whole */
        rc = jw_finish(&w, rc);
    } else if (rc == SFSM_OK) {
        printf("%zu member%s\n", st.count, st.count == 1 ? "" : "s");
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&cmd.env);
    return rc;
}

static const cli_group_cmd team_cmds[] = {
    { "set", team_set },
    { "unset", team_unset },
    { "list", team_list },
    { NULL, NULL },
};

int cmd_team(int argc, char **argv)
{
    static const cli_spec spec = {
        "team", "set OWNER TEAM | unset OWNER | list [TEAM] [--json]  (and the store options)",
        "Teams of owners (reps), used by 'report --team' and the team rows of\n"
        "'report attainment'.\n\n"
        "  set OWNER TEAM        put OWNER into TEAM (out of any other)\n"
        "  unset OWNER           take OWNER out of its team\n"
        "  list [TEAM]           list memberships, by team then owner\n"
        "'salesfsm team set --help' and so on describe each.\n",
        1, 1
    };
    return cli_run_group(&spec, team_cmds, argc, argv);
}
