/* How most commands begin: parsing the store options and opening the
 * store (and maybe one opportunity), or parsing a pipeline argument and
 * loading it. Kept in one place so that every command reads its options
 * and reports a failure to open the same way. */
#include <string.h>

#include "cli.h"

int cli_store_cmd_parse(const cli_spec *spec, int with_json, int argc, char **argv, cli_store_cmd *cmd)
{
    cmd->arg = cmd->db = cmd->pipeline = NULL;
    cmd->json = 0;
    const cli_opt store_opts[] = { CLI_STORE_OPTS(cmd->db, cmd->pipeline), { NULL, NULL, NULL } };
    const cli_opt json_opts[] = { { "json", NULL, &cmd->json }, CLI_STORE_OPTS(cmd->db, cmd->pipeline),
                                  { NULL, NULL, NULL } };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(spec, with_json ? json_opts : store_opts, argc, argv, args, &nargs);
    if (rc == CLI_CONTINUE && nargs)
        cmd->arg = args[0];
    return rc;
}

int cli_store_cmd_open(const cli_spec *spec, int with_json, int argc, char **argv, cli_store_cmd *cmd)
{
    int rc = cli_store_cmd_parse(spec, with_json, argc, argv, cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    return cli_env_open(&cmd->env, cmd->db, cmd->pipeline, 0) == CLI_OK ? CLI_CONTINUE : CLI_FAIL;
}

int cli_run_opp_cmd(const cli_spec *spec, int argc, char **argv, const cli_opp_view *view)
{
    cli_store_cmd cmd;
    int rc = cli_store_cmd_open(spec, CLI_WITH_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    sfsm_opp *o = NULL;
    if ((rc = sfsm_opp_open(cmd.env.engine, cmd.arg, &o)) == SFSM_OK) {
        if (cmd.json) {
            jsonw w;
            jw_init(&w, stdout);
            rc = jw_finish(&w, view->json(&cmd, o, &w));
        } else {
            rc = view->text(&cmd, o);
        }
    }
    /* Reported before closing: the message is the library's last error. */
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    sfsm_opp_free(o);
    cli_env_close(&cmd.env);
    return rc;
}

int cli_pipeline_cmd_open(const cli_spec *spec, int argc, char **argv, sfsm_pipeline **p)
{
    static const cli_opt no_opts[] = { { NULL, NULL, NULL } };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(spec, no_opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    return cli_load_pipeline(nargs ? args[0] : NULL, p) == CLI_OK ? CLI_CONTINUE : CLI_FAIL;
}

int cli_run_group(const cli_spec *spec, const cli_group_cmd *cmds, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(spec, "missing subcommand");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        cli_print_help(spec, stdout);
        return CLI_OK;
    }
    for (; cmds->name; cmds++)
        if (strcmp(cmds->name, sub) == 0)
            return cmds->run(argc - 1, argv + 1);
    return cli_usage_error(spec, "unknown subcommand '%s'", sub);
}
