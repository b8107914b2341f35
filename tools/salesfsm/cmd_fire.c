/* fire: one event on one opportunity, through every check of the engine. */
#include <inttypes.h>

#include "cli.h"
#include "commands.h"

int cmd_fire(int argc, char **argv)
{
    static const cli_spec spec = {
        "fire",
        "ID EVENT --actor NAME --role ROLE [--note TEXT] [--amount 1234.56 [--currency CNY]]\n"
        "                     [--db FILE] [--pipeline FILE.json]",
        "Fires EVENT (qualify, quote, negotiate, requote, sign, deliver, service, lose,\n"
        "reopen in the built-in pipeline) on opportunity ID as the given actor. The\n"
        "engine checks that the event is allowed from the current stage, that the\n"
        "role may fire it and that its guards pass; a refusal changes nothing and\n"
        "exits with status 1 and the library's reason.\n\n"
        "  --actor NAME          who fires it, for the audit history\n"
        "  --role ROLE           the actor's role: manager, rep, assistant, support\n"
        "  --note TEXT           a note for the history (the lost reason for 'lose')\n"
        "  --amount 1234.56      a new amount, stored with the transition (e.g. requote)\n"
        "  --currency CNY        ISO 4217 code of the new amount (default: the\n"
        "                        opportunity's currency; CNY if it has none)\n" CLI_STORE_HELP,
        2, 2
    };
    const char *actor = NULL, *role = NULL, *note = NULL, *amount = NULL, *currency = NULL;
    const char *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = {
        { "actor", &actor, NULL },   { "role", &role, NULL },         { "note", &note, NULL },
        { "amount", &amount, NULL }, { "currency", &currency, NULL }, CLI_STORE_OPTS(db, pipeline),
        { NULL, NULL, NULL },
    };
    const char *args[2];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!actor || !role)
        return cli_usage_error(&spec, "--actor and --role are required");
    if (currency && !amount)
        return cli_usage_error(&spec, "--currency needs --amount");
    int64_t minor = 0;
    char why[256];
    if (amount && cli_parse_amount(amount, &minor, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--amount: %s", why);

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    const sfsm_actor who = { actor, role };
    sfsm_opp *o = NULL;
    rc = sfsm_opp_open(env.engine, args[0], &o);
    if (rc == SFSM_OK && amount) {
        /* A new amount keeps the deal's currency: switching it silently would
         * turn USD 57,723.77 into CNY 9,000.00 and split every report. */
        if (!currency)
            currency = sfsm_opp_currency(o) ? sfsm_opp_currency(o) : CLI_DEFAULT_CURRENCY;
        rc = sfsm_opp_set_amount(o, minor, currency);
    }
    if (rc == SFSM_OK) {
        const char *from = sfsm_opp_stage(o);
        rc = sfsm_fire(env.engine, o, args[1], &who, note);
        if (rc == SFSM_OK)
            printf("%s: %s -> %s (%s), version %" PRIu64 "\n", cli_tx(sfsm_opp_id(o)), cli_tx(from),
                   cli_tx(sfsm_opp_stage(o)), cli_tx(args[1]),
                   sfsm_opp_version(o));
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    sfsm_opp_free(o);
    cli_env_close(&env);
    return rc;
}
