/* create: a new opportunity at the pipeline's initial stage. */
#include "cli.h"
#include "commands.h"

int cmd_create(int argc, char **argv)
{
    static const cli_spec spec = {
        "create",
        "[--id ID] [--customer C] [--owner O] [--title T] [--amount 1234.56 [--currency CNY]]\n"
        "                       [--actor NAME --role ROLE] [--db FILE] [--pipeline FILE.json]",
        "Creates an opportunity at the pipeline's first stage and prints its id.\n"
        "The store file is created if it does not exist yet.\n\n"
        "  --id ID               the id (default: 32 generated hex digits)\n"
        "  --customer C          the customer (needed later to qualify)\n"
        "  --owner O             the rep who owns it\n"
        "  --title T             what is being sold\n"
        "  --amount 1234.56      the amount in major units, at most two decimals\n"
        "  --currency CNY        ISO 4217 code of the amount (default: CNY)\n"
        "  --actor NAME          who creates it, for the audit history (with --role)\n"
        "  --role ROLE           the actor's role: manager, rep, assistant, support\n" CLI_STORE_HELP,
        0, 0
    };
    const char *id = NULL, *customer = NULL, *owner = NULL, *title = NULL, *amount = NULL, *currency = NULL;
    const char *actor = NULL, *role = NULL, *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = {
        { "id", &id, NULL },           { "customer", &customer, NULL }, { "owner", &owner, NULL },
        { "title", &title, NULL },     { "amount", &amount, NULL },     { "currency", &currency, NULL },
        { "actor", &actor, NULL },     { "role", &role, NULL },         CLI_STORE_OPTS(db, pipeline),
        { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!actor != !role)
        return cli_usage_error(&spec, "--actor and --role go together");
    if (currency && !amount)
        return cli_usage_error(&spec, "--currency needs --amount");

    sfsm_create_options co = SFSM_CREATE_OPTIONS_INIT;
    sfsm_actor who = { actor, role };
    char why[256];
    if (amount && cli_parse_amount(amount, &co.amount, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--amount: %s", why);
    co.id = id;
    co.customer = customer;
    co.owner = owner;
    co.title = title;
    co.currency = amount ? (currency ? currency : CLI_DEFAULT_CURRENCY) : NULL;
    co.actor = actor ? &who : NULL;

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 1) != CLI_OK)
        return CLI_FAIL;
    sfsm_opp *o = NULL;
    if ((rc = sfsm_opp_create_ext(env.engine, &co, &o)) != SFSM_OK) {
        rc = cli_fail(rc);
    } else {
        printf("%s\n", cli_tx(sfsm_opp_id(o)));
        rc = CLI_OK;
    }
    sfsm_opp_free(o);
    cli_env_close(&env);
    return rc;
}
