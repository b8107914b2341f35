/* show: one opportunity, as text or JSON. */
#include <inttypes.h>

#include "cli.h"
#include "commands.h"

static void field(const char *name, const char *value)
{
    printf("%-16s %s\n", name, cli_tx(value));
}

/* The events the pipeline allows from the opportunity's stage (roles and guards aside). */
static void print_next_events(const sfsm_pipeline *p, const sfsm_opp *o)
{
    size_t stage = sfsm_opp_stage_index(o);
    int any = 0;
    printf("%-16s", "next events:");
    for (size_t ev = 0; ev < sfsm_pipeline_event_count(p); ev++) {
        if (!sfsm_pipeline_event_allowed_from(p, ev, stage))
            continue;
        printf("%s%s", any ? ", " : " ", cli_tx(sfsm_pipeline_event_name(p, ev)));
        any = 1;
    }
    printf("%s\n", any ? "" : " - (final stage)");
}

static void print_text(const sfsm_pipeline *p, const sfsm_opp *o)
{
    char buf[64], money[48];
    field("id:", sfsm_opp_id(o));
    printf("%-16s %s (win probability %d %%)\n", "stage:", cli_tx(sfsm_opp_stage(o)), sfsm_opp_probability(o));
    printf("%-16s %" PRIu64 "\n", "version:", sfsm_opp_version(o));
    field("customer:", sfsm_opp_customer(o));
    field("owner:", sfsm_opp_owner(o));
    field("title:", sfsm_opp_title(o));
    if (sfsm_opp_currency(o))
        printf("%-16s %s %s\n", "amount:", cli_tx(sfsm_opp_currency(o)),
               cli_format_amount(sfsm_opp_amount(o), money, sizeof money));
    else
        field("amount:", NULL);
    field("expected close:", sfsm_opp_expected_close(o) ? cli_format_time(sfsm_opp_expected_close(o), buf, sizeof buf) : NULL);
    field("created:", cli_format_time(sfsm_opp_created(o), buf, sizeof buf));
    field("updated:", cli_format_time(sfsm_opp_updated(o), buf, sizeof buf));
    field("in stage since:", cli_format_time(sfsm_opp_stage_entered(o), buf, sizeof buf));
    for (size_t i = 0; i < sfsm_opp_attr_count(o); i++) {
        const char *k, *v;
        if (sfsm_opp_attr_at(o, i, &k, &v) == SFSM_OK)
            printf("%-16s %s = %s\n", i == 0 ? "attributes:" : "", cli_tx(k), cli_tx(v));
    }
    print_next_events(p, o);
}

static int show_json(const cli_store_cmd *cmd, const sfsm_opp *o, jsonw *w)
{
    (void)cmd;
    cli_opp_json(w, o);
    return SFSM_OK;
}

static int show_text(const cli_store_cmd *cmd, const sfsm_opp *o)
{
    print_text(cmd->env.pipeline, o);
    return SFSM_OK;
}

int cmd_show(int argc, char **argv)
{
    static const cli_spec spec = {
        "show", "ID [--json] [--db FILE] [--pipeline FILE.json]",
        "Shows one opportunity: stage, win probability, fields, attributes and the\n"
        "events its stage allows next.\n\n"
        "  --json                as a JSON object (amounts in minor units, times in ms)\n" CLI_STORE_HELP,
        1, 1
    };
    static const cli_opp_view view = { show_json, show_text };
    return cli_run_opp_cmd(&spec, argc, argv, &view);
}
