/* forecast: what closes in the period, by forecast category and currency. */
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "forecast"

/* Row order: closed, pipeline, best_case, commit (as report.h lists them). */
enum { K_CLOSED, K_PIPELINE, K_BEST_CASE, K_COMMIT, K_COUNT };
static const char *const category[K_COUNT] = { "closed", "pipeline", "best_case", "commit" };

static int key_of(sfsm_forecast fc)
{
    switch (fc) {
    case SFSM_FORECAST_PIPELINE: return K_PIPELINE;
    case SFSM_FORECAST_BEST_CASE: return K_BEST_CASE;
    case SFSM_FORECAST_COMMIT: return K_COMMIT;
    default: return -1;
    }
}

static int collect(const report_data *d, money_rows *m)
{
    int rc = SFSM_OK;
    for (size_t i = 0; i < d->n && !rc; i++) {
        const rd_opp *o = &d->opps[i];
        int won;
        int64_t at = sfsm__rd_first_won(d, o, &won);
        if (won && rd_in_period(d, at))
            rc = sfsm__money_add(m, d, K_CLOSED, o->currency, o->amount, 100, NAME, rd_id(d, o->id));
        if (rc || rd_outcome(d, o->stage) != SFSM_OUTCOME_OPEN || !o->expected_close ||
            !rd_in_period(d, o->expected_close))
            continue;
        const stage_def *st = &d->p->stages[o->stage];
        int k = key_of(st->forecast);
        if (k >= 0)
            rc = sfsm__money_add(m, d, (uint32_t)k, o->currency, o->amount, st->probability, NAME, rd_id(d, o->id));
    }
    return rc;
}

/* One "total" row per currency: the sums of the rows above. */
static int totals(const report_data *d, const money_rows *m, money_rows *t)
{
    for (size_t i = 0; i < m->n; i++) {
        const money_row *x = &m->v[i];
        int added;
        long g = sfsm__rg_get(&t->map, 0, x->currency, &added);
        if (g < 0 || (added && sfsm__grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v)))
            return sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
        if (added) {
            memset(&t->v[t->n], 0, sizeof *t->v);
            t->v[t->n++].currency = x->currency;
        }
        money_row *y = &t->v[g];
        const char *cur = rd_s(d, x->currency);
        int rc;
        if ((rc = sfsm__sum(&y->count, x->count, NAME, "counts", cur)) ||
            (rc = sfsm__sum(&y->amount, x->amount, NAME, "amounts", cur)) ||
            (rc = sfsm__sum(&y->weighted, x->weighted, NAME, "weighted amounts", cur)))
            return rc;
    }
    for (size_t i = 0; i < t->n; i++)
        t->v[i].w = (rd_i128)t->v[i].weighted * 100;   /* finish keeps it */
    return sfsm__money_finish(t, d, NAME);
}

int sfsm_report_forecast(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 1, 0, &d, out);
    if (rc)
        return rc;
    money_rows m = { 0 }, t = { 0 };
    rc = collect(&d, &m);
    if (!rc)
        rc = sfsm__money_finish(&m, &d, NAME);
    if (!rc)
        rc = totals(&d, &m, &t);
    if (!rc) {
        static const char *const cols[] = { "category", "currency", "count", "amount", "weighted" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 5);
        for (size_t pass = 0; r && pass < 2; pass++) {
            const money_rows *src = pass ? &t : &m;
            for (size_t i = 0; i < src->n; i++) {
                const money_row *x = &src->v[i];
                size_t row = sfsm__rt_row(r);
                sfsm__rt_text(r, row, 0, pass ? "total" : category[x->key]);
                sfsm__rt_text(r, row, 1, rd_s(&d, x->currency));
                sfsm__rt_int(r, row, 2, x->count);
                sfsm__rt_int(r, row, 3, x->amount);
                sfsm__rt_int(r, row, 4, x->weighted);
            }
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__money_free(&m);
    sfsm__money_free(&t);
    sfsm__rd_free(&d);
    return rc;
}
