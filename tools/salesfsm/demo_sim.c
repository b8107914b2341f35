/*
 * The demo's sales department at work, one simulated day at a time: leads
 * arrive, reps qualify, quote, negotiate, requote, sign or lose them (with
 * a reason), the assistant keeps customer data and delivers, support
 * services, and the manager signs the big deals and reopens some lost ones
 * at the Monday review; customers pay a deposit at signing and the rest
 * after delivery (sfsm_payment_add). Every move goes through sfsm_fire,
 * each working day in one batch, at times from the injected clock. The
 * payments draw from a PRNG of their own, so that adding them left the
 * rest of the simulation as it was.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

enum { LEAD, QUALIFIED, QUOTED, NEGOTIATING, SIGNED, DELIVERED, SERVICED, LOST, N_STAGES };

static const char *const stage_names[N_STAGES] = { "lead",   "qualified", "quoted",   "negotiating",
                                                   "signed", "delivered", "serviced", "lost" };

typedef struct deal {
    sfsm_opp *opp;
    int rep;
    int stage;
    int created_day;
    int lost_day;
    int reopened;
    int64_t list_amount;   /* what the quote will say, in fen */
    int64_t paid;          /* payments received, in fen */
} deal;

typedef struct sim {
    sfsm_engine *e;
    demo_rng rng;
    demo_stats *stats;
    int64_t now;
    int day;
    int *local_stage;      /* pipeline stage index -> LEAD.. */
    deal *deals;
    size_t count, cap;
    unsigned quotes, contracts, invoices;
    demo_rng pay_rng;      /* payments only */
} sim;

static int64_t sim_clock(void *ud)
{
    return ((const sim *)ud)->now;
}

/* Each action takes the department a few minutes. */
static void tick(sim *s)
{
    s->now += demo_rng_range(&s->rng, 2, 12) * INT64_C(60000);
}

static int64_t round_cny(int64_t fen, int64_t step_cny)
{
    int64_t step = step_cny * 100;
    return (fen + step / 2) / step * step;
}

static int fire(sim *s, deal *d, const char *event, const sfsm_actor *who, const char *note)
{
    tick(s);
    int rc = sfsm_fire(s->e, d->opp, event, who, note);
    if (rc == SFSM_OK)
        d->stage = s->local_stage[sfsm_opp_stage_index(d->opp)];
    return rc;
}

static int new_lead(sim *s)
{
    static const char *const sources[] = { "trade fair", "website", "referral", "cold call" };
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        deal *nd = realloc(s->deals, cap * sizeof *nd);
        if (!nd)
            return sfsm_error_set(SFSM_ENOMEM, "demo: out of memory");
        s->deals = nd;
        s->cap = cap;
    }
    deal *d = &s->deals[s->count];
    memset(d, 0, sizeof *d);
    d->rep = (int)demo_rng_below(&s->rng, DEMO_REPS);
    d->created_day = s->day;
    d->lost_day = -1;
    size_t cust = demo_rng_below(&s->rng, (uint32_t)demo_customer_count);
    const demo_product *pr = &demo_products[demo_rng_below(&s->rng, (uint32_t)demo_product_count)];
    int qty = demo_rng_range(&s->rng, pr->min_qty, pr->max_qty);
    d->list_amount = round_cny(qty * pr->unit_cny * demo_rng_range(&s->rng, 80, 120), 100);

    char id[32], title[96];
    snprintf(id, sizeof id, "OPP-%04zu", s->count + 1);
    snprintf(title, sizeof title, pr->title, qty);
    sfsm_create_options co = SFSM_CREATE_OPTIONS_INIT;
    co.id = id;
    co.customer = demo_customers[cust];
    co.owner = demo_reps[d->rep].name;
    co.title = title;
    if (demo_rng_chance(&s->rng, 700)) {   /* most leads come with a first estimate */
        co.amount = d->list_amount;
        co.currency = "CNY";
    }
    co.actor = demo_rng_chance(&s->rng, 250) ? &demo_assistant : &demo_reps[d->rep];
    tick(s);
    int rc = sfsm_opp_create_ext(s->e, &co, &d->opp);
    if (rc)
        return rc;
    d->stage = LEAD;
    s->count++;
    if (demo_rng_chance(&s->rng, 500)) {   /* the assistant completes the customer data */
        tick(s);
        if ((rc = sfsm_opp_set_attr(d->opp, "region", demo_regions[cust])) ||
            (rc = sfsm_opp_set_attr(d->opp, "source", sources[demo_rng_below(&s->rng, 4)])) ||
            (rc = sfsm_opp_save_as(s->e, d->opp, &demo_assistant, "customer data completed")))
            return rc;
    }
    return SFSM_OK;
}

static const char *lost_reason(sim *s, int stage)
{
    return demo_lost_reasons[stage][demo_rng_below(&s->rng, 4)];
}

static int act_quote(sim *s, deal *d)
{
    char note[64];
    int64_t amount = sfsm_opp_amount(d->opp);
    if (amount == 0 || demo_rng_chance(&s->rng, 300))   /* first price, or a revised estimate */
        amount = round_cny(d->list_amount * demo_rng_range(&s->rng, 90, 110) / 100, 100);
    int rc = sfsm_opp_set_amount(d->opp, amount, "CNY");
    if (!rc)
        rc = sfsm_opp_set_expected_close(d->opp, s->now + demo_rng_range(&s->rng, 20, 90) * DEMO_DAY_MS);
    snprintf(note, sizeof note, "quote Q-%05u sent", ++s->quotes);
    return rc ? rc : fire(s, d, "quote", &demo_reps[d->rep], note);
}

static int act_requote(sim *s, deal *d)
{
    char note[64];
    int pct = demo_rng_range(&s->rng, 3, 10);
    int rc = sfsm_opp_set_amount(d->opp, round_cny(sfsm_opp_amount(d->opp) * (100 - pct) / 100, 100), "CNY");
    snprintf(note, sizeof note, "%d %% discount for a two-year commitment", pct);
    return rc ? rc : fire(s, d, "requote", &demo_reps[d->rep], note);
}

static int pay(sim *s, deal *d, int64_t amount, const char *what)
{
    char note[64];
    if (amount <= 0)
        return SFSM_OK;
    snprintf(note, sizeof note, "%s, invoice FP-%05u", what, ++s->invoices);
    s->now += demo_rng_range(&s->pay_rng, 2, 12) * INT64_C(60000);
    int rc = sfsm_payment_add(s->e, sfsm_opp_id(d->opp), amount, "CNY", note);
    if (!rc)
        d->paid += amount;
    return rc;
}

/* Most customers pay a 30 % deposit when they sign, the rest some time after
 * delivery (a few in two instalments); some are slow. */
static int collect(sim *s, deal *d)
{
    int64_t left = sfsm_opp_amount(d->opp) - d->paid;
    if (left <= 0 || d->stage < DELIVERED || d->stage > SERVICED || !demo_rng_chance(&s->pay_rng, 60))
        return SFSM_OK;
    if (left > INT64_C(20000000) && demo_rng_chance(&s->pay_rng, 300))
        return pay(s, d, left / 2 / 100 * 100, "first instalment");
    return pay(s, d, left, "balance");
}

static int act_sign(sim *s, deal *d)
{
    char contract[32], note[96];
    snprintf(contract, sizeof contract, "HT-%05u", ++s->contracts);
    snprintf(note, sizeof note, "contract %s signed, deposit received", contract);
    /* Deals of a million yuan and more are signed by the manager. */
    const sfsm_actor *who = sfsm_opp_amount(d->opp) >= INT64_C(100000000) ? &demo_manager : &demo_reps[d->rep];
    int rc = sfsm_opp_set_attr(d->opp, "contract", contract);
    if (!rc)
        rc = fire(s, d, "sign", who, note);
    if (!rc && demo_rng_chance(&s->pay_rng, 700))
        rc = pay(s, d, sfsm_opp_amount(d->opp) * 30 / 100 / 100 * 100, "deposit");
    return rc;
}

static int act_lose(sim *s, deal *d)
{
    int rc = fire(s, d, "lose", &demo_reps[d->rep], lost_reason(s, d->stage));
    if (!rc)
        d->lost_day = s->day;
    return rc;
}

/* A rep may not reopen a lost deal; the engine says so, and nothing changes. */
static int try_rep_reopen(sim *s, deal *d)
{
    int rc = fire(s, d, "reopen", &demo_reps[d->rep], "the customer called again");
    if (rc != SFSM_EPERM)
        return rc == SFSM_OK ? sfsm_error_set(SFSM_EINVAL, "demo: a rep reopened %s", sfsm_opp_id(d->opp)) : rc;
    if (s->stats->refused++ == 0)
        snprintf(s->stats->refused_example, sizeof s->stats->refused_example, "%s", sfsm_errmsg());
    return SFSM_OK;
}

static int act_lost(sim *s, deal *d, int monday)
{
    if (s->day - d->lost_day <= 30 && demo_rng_chance(&s->rng, 10))
        return try_rep_reopen(s, d);
    if (monday && !d->reopened && s->day - d->lost_day <= 60 && demo_rng_chance(&s->rng, 40)) {
        d->reopened = 1;
        return fire(s, d, "reopen", &demo_manager, "Monday review: the customer has a new budget");
    }
    return SFSM_OK;
}

/* One deal's working day. */
static int work_on(sim *s, deal *d, int monday)
{
    int roll = (int)demo_rng_below(&s->rng, 1000);
    int rc = collect(s, d);
    if (rc)
        return rc;
    const sfsm_actor *rep = &demo_reps[d->rep];
    switch (d->stage) {
    case LEAD:
        if (s->day == d->created_day)
            return SFSM_OK;
        return roll < 160 ? fire(s, d, "qualify", rep, "needs and budget confirmed")
               : roll < 195 ? act_lose(s, d)
                            : SFSM_OK;
    case QUALIFIED:
        return roll < 140 ? act_quote(s, d) : roll < 170 ? act_lose(s, d) : SFSM_OK;
    case QUOTED:
        return roll < 130 ? fire(s, d, "negotiate", rep, roll < 40 ? "meeting with purchasing" : NULL)
               : roll < 175 ? act_lose(s, d)
                            : SFSM_OK;
    case NEGOTIATING: {
        int sign = 80 + demo_rep_skill[d->rep];
        return roll < sign ? act_sign(s, d)
               : roll < sign + 50 ? act_requote(s, d)
               : roll < sign + 90 ? act_lose(s, d)
                                  : SFSM_OK;
    }
    case SIGNED:
        return roll < 180 ? fire(s, d, "deliver", roll < 20 ? rep : &demo_assistant, "delivered, acceptance signed")
                          : SFSM_OK;
    case DELIVERED:
        return roll < 100 ? fire(s, d, "service", roll < 20 ? &demo_assistant : &demo_support,
                                 "handed over to after-sales service")
                          : SFSM_OK;
    case LOST:
        return act_lost(s, d, monday);
    default:
        return SFSM_OK;
    }
}

static int work_day(sim *s)
{
    int weekday = (s->day + 3) % 7;   /* day 0, 2026-01-01, is a Thursday; 0 = Monday */
    if (weekday >= 5)
        return SFSM_OK;
    s->now = DEMO_START_MS + s->day * DEMO_DAY_MS + 9 * INT64_C(3600000);
    int rc = sfsm_engine_begin(s->e);
    if (rc)
        return rc;
    size_t existing = s->count;   /* today's new leads wait until tomorrow */
    for (size_t i = 0; i < existing && !rc; i++)
        rc = work_on(s, &s->deals[i], weekday == 0);
    for (int n = (int)demo_rng_below(&s->rng, 4); n > 0 && !rc; n--)
        rc = new_lead(s);
    if (rc) {
        sfsm_engine_rollback(s->e);
        return rc;
    }
    return sfsm_engine_commit(s->e);
}

static void show_progress(const sim *s, progress *p)
{
    size_t open = 0, won = 0, lost = 0;
    for (size_t i = 0; i < s->count; i++) {
        int st = s->deals[i].stage;
        open += st <= NEGOTIATING;
        won += st >= SIGNED && st <= SERVICED;
        lost += st == LOST;
    }
    progress_update(p, s->day + 1, open, won, lost);
}

/* Maps the pipeline's stage indexes to the stages the simulation knows. */
static int map_stages(sim *s)
{
    const sfsm_pipeline *p = sfsm_engine_pipeline(s->e);
    s->local_stage = calloc(sfsm_pipeline_stage_count(p), sizeof *s->local_stage);
    if (!s->local_stage)
        return sfsm_error_set(SFSM_ENOMEM, "demo: out of memory");
    for (int i = 0; i < N_STAGES; i++) {
        size_t ix;
        int rc = sfsm_pipeline_stage_index(p, stage_names[i], &ix);
        if (rc)
            return rc;
        s->local_stage[ix] = i;
    }
    return SFSM_OK;
}

int demo_simulate(sfsm_engine *e, const demo_config *cfg, demo_stats *stats)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.e = e;
    s.stats = stats;
    s.now = DEMO_START_MS;
    demo_rng_seed(&s.rng, cfg->seed);
    demo_rng_seed(&s.pay_rng, cfg->seed ^ UINT64_C(0x5041594d454e5453));   /* "PAYMENTS" */
    int rc = map_stages(&s);
    if (!rc)
        rc = sfsm_engine_set_clock(e, sim_clock, &s);
    for (s.day = 0; !rc && s.day < cfg->days; s.day++) {
        rc = work_day(&s);
        if (cfg->progress)
            show_progress(&s, cfg->progress);
    }
    sfsm_engine_set_clock(e, NULL, NULL);
    for (size_t i = 0; i < s.count; i++)
        sfsm_opp_free(s.deals[i].opp);
    free(s.deals);
    free(s.local_stage);
    return rc;
}
