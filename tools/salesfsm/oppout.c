/* Opportunities and history entries as JSON and as text, shared by show,
 * list and history. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

void cli_opp_json(jsonw *w, const sfsm_opp *o)
{
    jw_begin_object(w);
    jw_key(w, "id");
    jw_string(w, sfsm_opp_id(o));
    jw_key(w, "stage");
    jw_string(w, sfsm_opp_stage(o));
    jw_key(w, "version");
    jw_uint(w, sfsm_opp_version(o));
    jw_key(w, "probability");
    jw_int(w, sfsm_opp_probability(o));
    jw_key(w, "amount");
    jw_int(w, sfsm_opp_amount(o));
    jw_key(w, "currency");
    jw_string(w, sfsm_opp_currency(o));
    jw_key(w, "customer");
    jw_string(w, sfsm_opp_customer(o));
    jw_key(w, "owner");
    jw_string(w, sfsm_opp_owner(o));
    jw_key(w, "title");
    jw_string(w, sfsm_opp_title(o));
    jw_key(w, "expected_close_ms");
    jw_int(w, sfsm_opp_expected_close(o));
    jw_key(w, "created_ms");
    jw_int(w, sfsm_opp_created(o));
    jw_key(w, "updated_ms");
    jw_int(w, sfsm_opp_updated(o));
    jw_key(w, "stage_entered_ms");
    jw_int(w, sfsm_opp_stage_entered(o));
    jw_key(w, "attrs");
    jw_begin_object(w);
    for (size_t i = 0; i < sfsm_opp_attr_count(o); i++) {
        const char *k, *v;
        if (sfsm_opp_attr_at(o, i, &k, &v) == SFSM_OK) {
            jw_key(w, k);
            jw_string(w, v);
        }
    }
    jw_end_object(w);
    jw_end_object(w);
}

const char *cli_history_what(const sfsm_history_entry *h)
{
    switch (h->kind) {
    case SFSM_HISTORY_CREATE: return "create";
    case SFSM_HISTORY_TRANSITION: return h->event ? h->event : "transition";
    case SFSM_HISTORY_UPDATE: return "update";
    case SFSM_HISTORY_MIGRATE: return "migrate";
    default: return "?";
    }
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case SFSM_HISTORY_CREATE: return "create";
    case SFSM_HISTORY_TRANSITION: return "transition";
    case SFSM_HISTORY_UPDATE: return "update";
    case SFSM_HISTORY_MIGRATE: return "migrate";
    default: return "unknown";
    }
}

void cli_history_json(jsonw *w, const sfsm_history_entry *h)
{
    static const char *const field_names[] = { "amount", "customer", "owner", "title", "expected_close", "attrs" };
    jw_begin_object(w);
    jw_key(w, "version");
    jw_uint(w, h->version);
    jw_key(w, "at_ms");
    jw_int(w, h->at_ms);
    jw_key(w, "kind");
    jw_string(w, kind_name(h->kind));
    jw_key(w, "event");
    jw_string(w, h->event);
    jw_key(w, "from");
    jw_string(w, h->from);
    jw_key(w, "to");
    jw_string(w, h->to);
    jw_key(w, "actor");
    jw_string(w, h->actor);
    jw_key(w, "role");
    jw_string(w, h->role);
    jw_key(w, "note");
    jw_string(w, h->note);
    jw_key(w, "fields");
    jw_begin_array(w);
    for (unsigned b = 0; b < sizeof field_names / sizeof field_names[0]; b++)
        if (h->fields & (1u << b))
            jw_string(w, field_names[b]);
    jw_end_array(w);
    jw_key(w, "changes");
    /* The library hands out changes only as a JSON object (a stored text
     * that is not one fails the read with SFSM_ESTORAGE; history.h). */
    if (h->changes)
        jw_raw(w, h->changes);
    else
        jw_null(w);
    jw_end_object(w);
}

void cli_history_text(FILE *f, const sfsm_history_entry *h)
{
    char when[40];
    fprintf(f, "  v%-3" PRIu64 " %s  %-9s %-11s -> %-11s by %s (%s)", h->version,
            cli_format_time(h->at_ms, when, sizeof when), cli_tx(cli_history_what(h)), cli_tx(h->from), cli_tx(h->to),
            cli_tx(h->actor), cli_tx(h->role));
    if (h->changes)
        fprintf(f, "  %s", cli_tx(h->changes));
    if (h->note)
        fprintf(f, "  note: %s", cli_tx(h->note));
    fputc('\n', f);
}
