/* pay and payments: money received against won opportunities (销售回款),
 * what the receivables report measures. */
#include <inttypes.h>

#include "cli.h"
#include "commands.h"

typedef struct pay_state {
    jsonw *w;                 /* NULL: text */
    size_t count;
    int64_t collected;        /* of the one opportunity asked for */
} pay_state;

static int sum_payment(const sfsm_payment *p, void *ud)
{
    pay_state *st = ud;
    st->count++;
    st->collected += p->amount;   /* the library checks the sum <= the deal's amount <= 2^53-1 */
    return 0;
}

int cmd_pay(int argc, char **argv)
{
    static const cli_spec spec = {
        "pay", "ID --amount A [--currency C] [--note N] [--db FILE] [--pipeline FILE.json]",
        "Records a payment received against opportunity ID, which must be won\n"
        "(signed, delivered or serviced in the built-in pipeline). The total\n"
        "collected may not exceed the opportunity's amount. Prints what is\n"
        "collected and outstanding afterwards.\n\n"
        "  --amount A            the payment in major units, at most two decimals, > 0\n"
        "  --currency C          ISO 4217 code; must be the opportunity's (default: it)\n"
        "  --note N              a note (\"deposit\", an invoice number)\n" CLI_STORE_HELP,
        1, 1
    };
    const char *amount = NULL, *currency = NULL, *note = NULL, *db = NULL, *pipeline = NULL;
    const cli_opt opts[] = {
        { "amount", &amount, NULL }, { "currency", &currency, NULL }, { "note", &note, NULL },
        CLI_STORE_OPTS(db, pipeline), { NULL, NULL, NULL },
    };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!amount)
        return cli_usage_error(&spec, "--amount is required");
    int64_t minor;
    char why[256];
    if (cli_parse_amount(amount, &minor, why, sizeof why) != 0)
        return cli_usage_error(&spec, "--amount: %s", why);
    if (minor == 0)
        return cli_usage_error(&spec, "--amount: a payment must be more than 0");

    cli_env env;
    if (cli_env_open(&env, db, pipeline, 0) != CLI_OK)
        return CLI_FAIL;
    sfsm_opp *o = NULL;
    pay_state st = { NULL, 0, 0 };
    if ((rc = sfsm_opp_open(env.engine, args[0], &o)) == SFSM_OK &&
        (rc = sfsm_payment_add(env.engine, args[0], minor, currency ? currency : sfsm_opp_currency(o), note)) ==
            SFSM_OK &&
        (rc = sfsm_payment_list(env.engine, args[0], sum_payment, &st)) == SFSM_OK) {
        char paid[48], got[48], total[48], left[48];
        printf("%s: payment %zu of %s %s recorded; collected %s of %s, outstanding %s\n", cli_tx(args[0]),
               st.count, cli_tx(sfsm_opp_currency(o)), cli_format_amount(minor, paid, sizeof paid),
               cli_format_amount(st.collected, got, sizeof got),
               cli_format_amount(sfsm_opp_amount(o), total, sizeof total),
               cli_format_amount(sfsm_opp_amount(o) - st.collected, left, sizeof left));
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    sfsm_opp_free(o);
    cli_env_close(&env);
    return rc;
}

static int print_payment(const sfsm_payment *p, void *ud)
{
    pay_state *st = ud;
    st->count++;
    if (st->w) {
        jsonw *w = st->w;
        jw_begin_object(w);
        jw_key(w, "opp_id");
        jw_string(w, p->opp_id);
        jw_key(w, "seq");
        jw_uint(w, p->seq);
        jw_key(w, "amount");
        jw_int(w, p->amount);
        jw_key(w, "currency");
        jw_string(w, p->currency);
        jw_key(w, "at_ms");
        jw_int(w, p->at_ms);
        jw_key(w, "note");
        jw_string(w, p->note);
        jw_end_object(w);
    } else {
        char when[40], money[48];
        printf("%-20s %3" PRIu64 "  %s  %-4s %18s  %s\n", cli_tx(p->opp_id), p->seq, cli_format_time(p->at_ms, when, sizeof when),
               cli_tx(p->currency), cli_format_amount(p->amount, money, sizeof money), p->note ? cli_tx(p->note) : "");
    }
    return 0;
}

int cmd_payments(int argc, char **argv)
{
    static const cli_spec spec = {
        "payments", "[ID] [--json] [--db FILE] [--pipeline FILE.json]",
        "Lists the payments recorded, of one opportunity or of all, by opportunity\n"
        "then sequence number.\n\n"
        "  --json                as a JSON array of {opp_id, seq, amount (minor units),\n"
        "                        currency, at_ms, note}\n" CLI_STORE_HELP,
        0, 1
    };
    cli_store_cmd cmd;
    int rc = cli_store_cmd_open(&spec, CLI_WITH_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    jsonw w;
    pay_state st = { cmd.json ? &w : NULL, 0, 0 };
    /* A named opportunity must exist: fail before any output. */
    sfsm_opp *o = NULL;
    if (cmd.arg && (rc = sfsm_opp_open(cmd.env.engine, cmd.arg, &o)) != SFSM_OK) {
        rc = cli_fail(rc);
        cli_env_close(&cmd.env);
        return rc;
    }
    sfsm_opp_free(o);
    if (cmd.json) {
        jw_init(&w, stdout);
        jw_begin_array(&w);
    } else {
        printf("%-20s %3s  %-20s  %-4s %18s  %s\n", "ID", "SEQ", "RECEIVED", "CUR", "AMOUNT", "NOTE");
    }
    rc = sfsm_payment_list(cmd.env.engine, cmd.arg, print_payment, &st);
    if (cmd.json) {
        if (rc == SFSM_OK)
            jw_end_array(&w);   /* a failed read leaves the array open: no document that looks whole */
        rc = jw_finish(&w, rc);
    } else if (rc == SFSM_OK) {
        printf("%zu payment%s\n", st.count, st.count == 1 ? "" : "s");
    }
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&cmd.env);
    return rc;
}
