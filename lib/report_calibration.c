/* calibration: per open stage, how many of the closed opportunities that
 * were ever in it were won, next to the stage's probability. */
#include "alloc.h"
#include "report_impl.h"

#define NAME "calibration"

int sfsm_report_calibration(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, 0, &d, out);
    if (rc)
        return rc;
    int64_t closed[SFSM_MAX_STAGES] = { 0 }, won[SFSM_MAX_STAGES] = { 0 };
    for (size_t i = 0; i < d.n; i++) {
        const rd_opp *o = &d.opps[i];
        int outcome = rd_outcome(&d, o->stage);
        if (outcome != SFSM_OUTCOME_WON && outcome != SFSM_OUTCOME_LOST)
            continue;
        uint64_t bits[SFSM_MAX_STAGES / 64] = { 0 };
        const rd_entry *h = rd_hist(&d, o);
        for (uint32_t k = 0; k < o->nhist; k++) {
            int s = h[k].to;
            if (s < 0 || !rd_visible(&d, &h[k]) || (bits[s >> 6] >> (s & 63) & 1u))
                continue;
            bits[s >> 6] |= UINT64_C(1) << (s & 63);
            closed[s]++;
            if (outcome == SFSM_OUTCOME_WON)
                won[s]++;
        }
    }
    static const char *const cols[] = { "stage", "probability", "closed", "won", "observed_bp" };
    sfsm_report *r = sfsm__rt_new(NAME, cols, 5);
    for (size_t s = 0; r && s < d.p->stage_count; s++) {
        if (d.p->stages[s].outcome != SFSM_OUTCOME_OPEN)
            continue;
        size_t row = sfsm__rt_row(r);
        sfsm__rt_text(r, row, 0, d.p->stages[s].name);
        sfsm__rt_int(r, row, 1, d.p->stages[s].probability);
        sfsm__rt_int(r, row, 2, closed[s]);
        sfsm__rt_int(r, row, 3, won[s]);
        if (closed[s])
            sfsm__rt_int(r, row, 4, sfsm__bp(won[s], closed[s]));
    }
    rc = sfsm__rt_finish(r, out);
    sfsm__rd_free(&d);
    return rc;
}
