/* win rate: per owner, the opportunities whose last close (entry into a won
 * or lost stage from an open one) falls in the period. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "win_rate"

typedef struct owner_row {
    uint32_t owner;
    int64_t won, lost;
} owner_row;

static _Thread_local const report_data *t_data;

static int cmp_owner(const void *a, const void *b)
{
    return strcmp(rd_s(t_data, ((const owner_row *)a)->owner), rd_s(t_data, ((const owner_row *)b)->owner));
}

int sfsm_report_win_rate(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, 0, &d, out);
    if (rc)
        return rc;
    int ok = 1;
    uint32_t empty = sfsm__rd_intern(&d.str, "", 0, &ok);   /* a null owner shows as "" */
    rg_map map = { 0 };
    owner_row *v = NULL;
    size_t n = 0, cap = 0;
    int64_t won = 0, lost = 0;
    for (size_t i = 0; i < d.n && ok; i++) {
        const rd_opp *o = &d.opps[i];
        const rd_entry *h = rd_hist(&d, o);
        int last = -1;
        int64_t at = 0;
        for (uint32_t k = 0; k < o->nhist; k++) {
            if (!rd_visible(&d, &h[k]) || rd_outcome(&d, h[k].from) != SFSM_OUTCOME_OPEN)
                continue;
            int oc = rd_outcome(&d, h[k].to);
            if (oc == SFSM_OUTCOME_WON || oc == SFSM_OUTCOME_LOST) {
                last = oc;
                at = h[k].at;
            }
        }
        if (last < 0 || !rd_in_period(&d, at))
            continue;
        int added;
        long g = sfsm__rg_get(&map, o->owner ? o->owner : empty, 0, &added);
        if (g < 0 || (added && sfsm__grow((void **)&v, &cap, n + 1, sizeof *v))) {
            ok = 0;
            break;
        }
        if (added)
            v[n++] = (owner_row){ o->owner ? o->owner : empty, 0, 0 };
        if (last == SFSM_OUTCOME_WON) {
            v[g].won++;
            won++;
        } else {
            v[g].lost++;
            lost++;
        }
    }
    if (!ok) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    } else {
        t_data = &d;
        if (n)
            qsort(v, n, sizeof *v, cmp_owner);
        static const char *const cols[] = { "owner", "won", "lost", "rate_bp" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 4);
        for (size_t i = 0; r && i <= n; i++) {
            size_t row = sfsm__rt_row(r);
            int64_t w = i < n ? v[i].won : won, l = i < n ? v[i].lost : lost;
            if (i < n)
                sfsm__rt_text(r, row, 0, rd_s(&d, v[i].owner));
            sfsm__rt_int(r, row, 1, w);
            sfsm__rt_int(r, row, 2, l);
            if (w + l)
                sfsm__rt_int(r, row, 3, sfsm__bp(w, w + l));
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__free(v);
    sfsm__rg_free(&map);
    sfsm__rd_free(&d);
    return rc;
}
