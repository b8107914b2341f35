/* attainment: won amounts against targets, per owner and per team, for
 * exactly one calendar year, quarter, month or ISO week. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "periods.h"
#include "report_impl.h"

#define NAME "attainment"
static _Thread_local const report_data *t_data;

static int cmp_target(const void *a, const void *b)
{
    const rd_target *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    int c = sfsm__cmp_null_first(rd_s(t_data, x->subject), rd_s(t_data, y->subject));
    return c ? c : sfsm__cmp_null_first(rd_s(t_data, x->currency), rd_s(t_data, y->currency));
}

/* Won amount of (owner, currency), 0 if none. */
static int64_t won_of(const rg_map *map, const int64_t *won, uint32_t owner, uint32_t currency)
{
    long g = sfsm__rg_find(map, owner, currency);
    return g < 0 ? 0 : won[g];
}

int sfsm_report_attainment(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_check(e, f, NAME, 1, &d, out);
    if (rc)
        return rc;
    sfsm_period period;
    if (sfsm__period_of(d.from, d.to, &period))
        return sfsm_error_set(SFSM_EINVAL,
                              "report '" NAME "': the period [%lld, %lld) is not exactly one calendar year, quarter, "
                              "month or ISO week (UTC)",
                              (long long)d.from, (long long)d.to);
    d.target_year = period.year;
    if ((rc = sfsm__rd_load(e, f, NAME, 1, RD_TARGETS | RD_TEAMS, &d, out)))
        return rc;

    /* Won amounts by (owner, currency). */
    rg_map map = { 0 };
    int64_t *won = NULL;
    size_t wcap = 0;
    for (size_t i = 0; i < d.n && !rc; i++) {
        const rd_opp *o = &d.opps[i];
        int found;
        int64_t at = sfsm__rd_first_won(&d, o, &found);
        if (!found || !rd_in_period(&d, at) || !o->owner)
            continue;
        int added;
        long g = sfsm__rg_get(&map, o->owner, o->currency, &added);
        if (g < 0 || (added && sfsm__grow((void **)&won, &wcap, map.n, sizeof *won))) {
            rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
            break;
        }
        if (added)
            won[g] = 0;
        rc = sfsm__sum_opp(&won[g], o->amount, NAME, "won amounts", rd_s(&d, o->currency), rd_id(&d, o->id));
    }

    /* The targets of the period for the subjects the filter allows. */
    const char *fowner = f ? f->owner : NULL, *fteam = f ? f->team : NULL;
    size_t nt = 0;
    for (size_t i = 0; i < d.ntgt; i++) {
        rd_target *t = &d.tgt[i];
        if (t->period.year != period.year || t->period.kind != period.kind || t->period.index != period.index)
            continue;
        const char *subject = rd_s(&d, t->subject);
        if (!subject)
            continue;
        if (t->kind == SFSM_SUBJECT_OWNER) {
            if (fowner && strcmp(subject, fowner) != 0)
                continue;
            if (fteam) {
                size_t k = 0;
                while (k < d.nmem && !(d.mem[k].owner == t->subject && strcmp(rd_s(&d, d.mem[k].team), fteam) == 0))
                    k++;
                if (k == d.nmem)
                    continue;
            }
        } else if (t->kind == SFSM_SUBJECT_TEAM) {
            if (fteam && strcmp(subject, fteam) != 0)
                continue;
            if (fowner) {
                size_t k = 0;
                while (k < d.nmem && !(d.mem[k].team == t->subject && strcmp(rd_s(&d, d.mem[k].owner), fowner) == 0))
                    k++;
                if (k == d.nmem)
                    continue;
            }
        } else {
            continue;
        }
        d.tgt[nt++] = *t;
    }
    t_data = &d;
    if (nt)
        qsort(d.tgt, nt, sizeof *d.tgt, cmp_target);

    static const char *const cols[] = { "subject_kind", "subject", "currency", "target", "won", "attainment_bp" };
    sfsm_report *r = rc ? NULL : sfsm__rt_new(NAME, cols, 6);
    for (size_t i = 0; r && !rc && i < nt; i++) {
        const rd_target *t = &d.tgt[i];
        int64_t w = 0;
        const char *cur = rd_s(&d, t->currency);
        if (t->kind == SFSM_SUBJECT_OWNER) {
            w = won_of(&map, won, t->subject, t->currency);
        } else {
            for (size_t k = 0; k < d.nmem && !rc; k++)
                if (d.mem[k].team == t->subject)
                    rc = sfsm__sum(&w, won_of(&map, won, d.mem[k].owner, t->currency), NAME, "won amounts", cur);
        }
        size_t row = sfsm__rt_row(r);
        sfsm__rt_text(r, row, 0, t->kind == SFSM_SUBJECT_OWNER ? "owner" : "team");
        sfsm__rt_text(r, row, 1, rd_s(&d, t->subject));
        sfsm__rt_text(r, row, 2, cur);
        sfsm__rt_int(r, row, 3, t->amount);
        sfsm__rt_int(r, row, 4, w);
        if (t->amount > 0) {
            rd_i128 bp = (rd_i128)w * 10000 / t->amount;
            if (bp > INT64_MAX || bp < INT64_MIN)
                rc = sfsm_error_set(SFSM_EINVAL, "report '" NAME "': attainment of '%s' in %s overflows int64",
                                    rd_s(&d, t->subject), cur ? cur : "?");
            else
                sfsm__rt_int(r, row, 5, (int64_t)bp);
        }
    }
    if (rc)
        sfsm_report_free(r);
    else
        rc = sfsm__rt_finish(r, out);
    sfsm__free(won);
    sfsm__rg_free(&map);
    sfsm__rd_free(&d);
    return rc;
}
