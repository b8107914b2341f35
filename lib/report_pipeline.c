/* pipeline: open and closed opportunities by (stage, currency). */
#include "alloc.h"
#include "report_impl.h"

#define NAME "pipeline"

int sfsm_report_pipeline(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, RD_NO_HISTORY, &d, out);   /* stage and amount only */
    if (rc)
        return rc;
    money_rows m = { 0 };
    for (size_t i = 0; i < d.n && !rc; i++) {
        const rd_opp *o = &d.opps[i];
        if (o->stage < 0 || (d.has_period && (!o->expected_close || !rd_in_period(&d, o->expected_close))))
            continue;
        rc = sfsm__money_add(&m, &d, (uint32_t)o->stage, o->currency, o->amount,
                             d.p->stages[o->stage].probability, NAME, rd_id(&d, o->id));
    }
    if (!rc)
        rc = sfsm__money_finish(&m, &d, NAME);
    if (!rc) {
        static const char *const cols[] = { "stage", "currency", "count", "amount", "weighted" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 5);
        for (size_t i = 0; r && i < m.n; i++) {
            size_t row = sfsm__rt_row(r);
            sfsm__rt_text(r, row, 0, d.p->stages[m.v[i].key].name);
            sfsm__rt_text(r, row, 1, rd_s(&d, m.v[i].currency));
            sfsm__rt_int(r, row, 2, m.v[i].count);
            sfsm__rt_int(r, row, 3, m.v[i].amount);
            sfsm__rt_int(r, row, 4, m.v[i].weighted);
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__money_free(&m);
    sfsm__rd_free(&d);
    return rc;
}
