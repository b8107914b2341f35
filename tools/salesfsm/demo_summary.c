/*
 * The demo's closing summary, read back from the store through the public
 * API only: opportunities and amounts per stage, won/lost and win rate, reps
 * by won amount, lost reasons and what the audit history holds, a few
 * example histories, then the closing reports (demo_plan.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo.h"

#define MAX_TALLY 64

typedef struct tally {
    char *name;
    size_t count;
    int64_t amount;
} tally;

typedef struct summary {
    const sfsm_pipeline *p;
    size_t *stage_count;
    int64_t *stage_amount;
    char **ids;
    size_t n_ids, cap_ids;
    tally reps[MAX_TALLY];
    size_t n_reps;
    tally reasons[MAX_TALLY];
    size_t n_reasons;
    size_t entries[8];         /* by sfsm_history_kind */
    size_t requotes, reopens;
    /* Example histories: a won deal that was requoted, a reopened one, a lost one. */
    size_t ex_won, ex_reopened, ex_lost;
    /* While one history is read: */
    int saw_requote, saw_reopen;
    int alloc_failed;
} summary;

#define NONE ((size_t)-1)

/* Counts one more for name. A full table ignores new names (the demo has
 * far fewer); returns -1 only when out of memory. */
static int tally_add(tally *t, size_t *n, const char *name, int64_t amount)
{
    size_t i = 0;
    while (i < *n && strcmp(t[i].name, name) != 0)
        i++;
    if (i == MAX_TALLY)
        return 0;
    if (i == *n) {
        if (!(t[i].name = strdup(name)))
            return -1;
        t[i].count = 0;
        t[i].amount = 0;
        ++*n;
    }
    t[i].count++;
    t[i].amount += amount;
    return 0;
}

static int by_amount_then_name(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    if (x->amount != y->amount)
        return x->amount > y->amount ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_count_then_name(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int collect(const sfsm_opp *o, void *ud)
{
    summary *sm = ud;
    size_t st = sfsm_opp_stage_index(o);
    sm->stage_count[st]++;
    sm->stage_amount[st] += sfsm_opp_amount(o);
    if (sfsm_pipeline_stage_outcome(sm->p, st) == SFSM_OUTCOME_WON && sfsm_opp_owner(o) &&
        tally_add(sm->reps, &sm->n_reps, sfsm_opp_owner(o), sfsm_opp_amount(o)) != 0)
        return sm->alloc_failed = 1;
    if (sm->n_ids == sm->cap_ids) {
        size_t cap = sm->cap_ids ? sm->cap_ids * 2 : 256;
        char **ni = realloc(sm->ids, cap * sizeof *ni);
        if (!ni)
            return sm->alloc_failed = 1;
        sm->ids = ni;
        sm->cap_ids = cap;
    }
    if (!(sm->ids[sm->n_ids] = strdup(sfsm_opp_id(o))))
        return sm->alloc_failed = 1;
    sm->n_ids++;
    return 0;
}

static int count_entry(const sfsm_history_entry *h, void *ud)
{
    summary *sm = ud;
    if (h->kind >= 0 && h->kind < 8)
        sm->entries[h->kind]++;
    if (h->kind != SFSM_HISTORY_TRANSITION || !h->event)
        return 0;
    if (strcmp(h->event, "requote") == 0) {
        sm->requotes++;
        sm->saw_requote = 1;
    } else if (strcmp(h->event, "reopen") == 0) {
        sm->reopens++;
        sm->saw_reopen = 1;
    } else if (strcmp(h->event, "lose") == 0 && h->note) {
        if (tally_add(sm->reasons, &sm->n_reasons, h->note, 0) != 0)
            return sm->alloc_failed = 1;
    }
    return 0;
}

/* Reads every history once: counts, lost reasons, and the examples. */
static int read_histories(sfsm_engine *e, summary *sm)
{
    for (size_t i = 0; i < sm->n_ids; i++) {
        sm->saw_requote = sm->saw_reopen = 0;
        int rc = sfsm_opp_history(e, sm->ids[i], count_entry, sm);
        if (rc)
            return rc > 0 ? sfsm_error_set(SFSM_ENOMEM, "demo summary: out of memory") : rc;
        sfsm_opp *o;
        if ((rc = sfsm_opp_open(e, sm->ids[i], &o)))
            return rc;
        sfsm_outcome outcome = sfsm_pipeline_stage_outcome(sm->p, sfsm_opp_stage_index(o));
        if (sm->ex_won == NONE && outcome == SFSM_OUTCOME_WON && sm->saw_requote && !sm->saw_reopen &&
            sfsm_pipeline_stage_is_final(sm->p, sfsm_opp_stage_index(o)))
            sm->ex_won = i;
        if (sm->ex_reopened == NONE && sm->saw_reopen)
            sm->ex_reopened = i;
        if (sm->ex_lost == NONE && outcome == SFSM_OUTCOME_LOST && !sm->saw_reopen)
            sm->ex_lost = i;
        sfsm_opp_free(o);
    }
    return SFSM_OK;
}

static void print_stages(const summary *sm, FILE *f)
{
    char money[48];
    size_t total = 0;
    int64_t total_amount = 0;
    fprintf(f, "opportunities by stage\n  %-12s %6s %5s %22s\n", "stage", "count", "win%", "amount (CNY)");
    for (size_t i = 0; i < sfsm_pipeline_stage_count(sm->p); i++) {
        fprintf(f, "  %-12s %6zu %4d%% %22s\n", sfsm_pipeline_stage_name(sm->p, i), sm->stage_count[i],
                sfsm_pipeline_stage_probability(sm->p, i), cli_format_amount(sm->stage_amount[i], money, sizeof money));
        total += sm->stage_count[i];
        total_amount += sm->stage_amount[i];
    }
    fprintf(f, "  %-12s %6zu %5s %22s\n\n", "total", total, "", cli_format_amount(total_amount, money, sizeof money));
}

static void print_outcomes(const summary *sm, const demo_stats *stats, FILE *f)
{
    size_t won = 0, lost = 0, open = 0;
    int64_t won_amount = 0, weighted = 0;
    char money[48], money2[48];
    for (size_t i = 0; i < sfsm_pipeline_stage_count(sm->p); i++) {
        sfsm_outcome oc = sfsm_pipeline_stage_outcome(sm->p, i);
        if (oc == SFSM_OUTCOME_WON) {
            won += sm->stage_count[i];
            won_amount += sm->stage_amount[i];
        } else if (oc == SFSM_OUTCOME_LOST) {
            lost += sm->stage_count[i];
        } else {
            open += sm->stage_count[i];
            weighted += sm->stage_amount[i] * sfsm_pipeline_stage_probability(sm->p, i) / 100;
        }
    }
    size_t per_mille = won + lost ? (won * 1000 + (won + lost) / 2) / (won + lost) : 0;
    fprintf(f, "closed: %zu won (CNY %s), %zu lost; win rate %zu.%zu %%\n", won,
            cli_format_amount(won_amount, money, sizeof money), lost, per_mille / 10, per_mille % 10);
    fprintf(f, "open: %zu deals, weighted pipeline CNY %s\n", open, cli_format_amount(weighted, money2, sizeof money2));
    fprintf(f, "history: %zu entries: %zu creates, %zu transitions (%zu requotes, %zu reopened by the manager), "
               "%zu updates\n",
            sm->entries[1] + sm->entries[2] + sm->entries[3], sm->entries[SFSM_HISTORY_CREATE],
            sm->entries[SFSM_HISTORY_TRANSITION], sm->requotes, sm->reopens, sm->entries[SFSM_HISTORY_UPDATE]);
    fprintf(f, "refused by the engine: %zu moves%s%s\n\n", stats->refused, stats->refused ? ", e.g. " : "",
            stats->refused ? stats->refused_example : "");
}

static void print_reps_and_reasons(summary *sm, FILE *f)
{
    char money[48];
    qsort(sm->reps, sm->n_reps, sizeof sm->reps[0], by_amount_then_name);
    fprintf(f, "reps by won amount\n");
    for (size_t i = 0; i < sm->n_reps; i++)
        fprintf(f, "  %zu. %-12s %4zu won  CNY %18s\n", i + 1, sm->reps[i].name, sm->reps[i].count,
                cli_format_amount(sm->reps[i].amount, money, sizeof money));
    qsort(sm->reasons, sm->n_reasons, sizeof sm->reasons[0], by_count_then_name);
    fprintf(f, "\ntop lost reasons\n");
    for (size_t i = 0; i < sm->n_reasons && i < 5; i++)
        fprintf(f, "  %4zu  %s\n", sm->reasons[i].count, sm->reasons[i].name);
    fputc('\n', f);
}

static int print_entry(const sfsm_history_entry *h, void *ud)
{
    cli_history_text(ud, h);
    return 0;
}

static int print_example(sfsm_engine *e, const char *what, const char *id, FILE *f)
{
    sfsm_opp *o;
    char money[48];
    int rc = sfsm_opp_open(e, id, &o);
    if (rc)
        return rc;
    fprintf(f, "%s: %s, %s, \"%s\", CNY %s, owner %s, now %s\n", what, id, sfsm_opp_customer(o), sfsm_opp_title(o),
            cli_format_amount(sfsm_opp_amount(o), money, sizeof money), sfsm_opp_owner(o), sfsm_opp_stage(o));
    sfsm_opp_free(o);
    rc = sfsm_opp_history(e, id, print_entry, f);
    fputc('\n', f);
    return rc;
}

static int print_examples(sfsm_engine *e, const summary *sm, FILE *f)
{
    int rc = SFSM_OK;
    if (sm->ex_won != NONE)
        rc = print_example(e, "a won deal", sm->ids[sm->ex_won], f);
    if (!rc && sm->ex_reopened != NONE)
        rc = print_example(e, "a reopened deal", sm->ids[sm->ex_reopened], f);
    if (!rc && sm->ex_lost != NONE)
        rc = print_example(e, "a lost deal", sm->ids[sm->ex_lost], f);
    return rc;
}

static void print_team(FILE *f)
{
    fprintf(f, "team: %s (manager)", demo_manager.name);
    for (int i = 0; i < DEMO_REPS; i++)
        fprintf(f, ", %s", demo_reps[i].name);
    fprintf(f, " (reps), %s (assistant), %s (support)\n", demo_assistant.name, demo_support.name);
    demo_plan_print(f);
}

static void summary_free(summary *sm)
{
    for (size_t i = 0; i < sm->n_ids; i++)
        free(sm->ids[i]);
    for (size_t i = 0; i < sm->n_reps; i++)
        free(sm->reps[i].name);
    for (size_t i = 0; i < sm->n_reasons; i++)
        free(sm->reasons[i].name);
    free(sm->ids);
    free(sm->stage_count);
    free(sm->stage_amount);
}

int demo_summary(sfsm_engine *e, const demo_config *cfg, const demo_stats *stats, FILE *f)
{
    summary sm;
    memset(&sm, 0, sizeof sm);
    sm.p = sfsm_engine_pipeline(e);
    sm.ex_won = sm.ex_reopened = sm.ex_lost = NONE;
    size_t n = sfsm_pipeline_stage_count(sm.p);
    sm.stage_count = calloc(n, sizeof *sm.stage_count);
    sm.stage_amount = calloc(n, sizeof *sm.stage_amount);
    int rc = sm.stage_count && sm.stage_amount ? sfsm_scan(e, NULL, collect, &sm) : 1;
    if (rc > 0 || sm.alloc_failed)
        rc = sfsm_error_set(SFSM_ENOMEM, "demo summary: out of memory");
    if (!rc)
        rc = read_histories(e, &sm);
    if (!rc) {
        char start[40];
        fprintf(f, "salesfsm demo: %d days from %.10s, seed %" PRIu64 "\n", cfg->days,
                cli_format_time(DEMO_START_MS, start, sizeof start), cfg->seed);
        print_team(f);
        print_stages(&sm, f);
        print_outcomes(&sm, stats, f);
        print_reps_and_reasons(&sm, f);
        rc = print_examples(e, &sm, f);
        if (!rc)
            rc = demo_reports(e, cfg, f);
        if (!rc)
            fprintf(f, "explore it: salesfsm list --db %s; salesfsm history %s --db %s;\n"
                       "            salesfsm report pipeline --db %s (and forecast, attainment, receivables, ...)\n",
                    cfg->db, sm.n_ids ? sm.ids[0] : "ID", cfg->db, cfg->db);
    }
    summary_free(&sm);
    return rc;
}
