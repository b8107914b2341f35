/* funnel: of the opportunities created in the period, how many ever reached
 * each open or won stage, and how many of those reached the next one. */
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "funnel"

int sfsm_report_funnel(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, 0, &d, out);
    if (rc)
        return rc;
    /* The stages of the funnel, in table order. */
    size_t list[SFSM_MAX_STAGES], nl = 0;
    for (size_t s = 0; s < d.p->stage_count; s++)
        if (d.p->stages[s].outcome != SFSM_OUTCOME_LOST)
            list[nl++] = s;
    int64_t reached[SFSM_MAX_STAGES] = { 0 }, converted[SFSM_MAX_STAGES] = { 0 };
    for (size_t i = 0; i < d.n; i++) {
        const rd_opp *o = &d.opps[i];
        if (!rd_in_period(&d, o->created))
            continue;
        uint64_t bits[SFSM_MAX_STAGES / 64] = { 0 };
        const rd_entry *h = rd_hist(&d, o);
        for (uint32_t k = 0; k < o->nhist; k++)
            if (h[k].to >= 0 && rd_visible(&d, &h[k]))
                bits[h[k].to >> 6] |= UINT64_C(1) << (h[k].to & 63);
#define HAS(s) (bits[(s) >> 6] >> ((s) & 63) & 1u)
        for (size_t j = 0; j < nl; j++)
            if (HAS(list[j])) {
                reached[j]++;
                if (j + 1 < nl && HAS(list[j + 1]))
                    converted[j]++;
            }
#undef HAS
    }
    static const char *const cols[] = { "stage", "reached", "next", "converted", "rate_bp" };
    sfsm_report *r = sfsm__rt_new(NAME, cols, 5);
    for (size_t j = 0; r && j < nl; j++) {
        size_t row = sfsm__rt_row(r);
        sfsm__rt_text(r, row, 0, d.p->stages[list[j]].name);
        sfsm__rt_int(r, row, 1, reached[j]);
        if (j + 1 < nl) {
            sfsm__rt_text(r, row, 2, d.p->stages[list[j + 1]].name);
            sfsm__rt_int(r, row, 3, converted[j]);
            if (reached[j])
                sfsm__rt_int(r, row, 4, sfsm__bp(converted[j], reached[j]));
        }
    }
    rc = sfsm__rt_finish(r, out);
    sfsm__rd_free(&d);
    return rc;
}
