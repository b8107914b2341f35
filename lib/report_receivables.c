/* receivables: won opportunities with what has been collected on them up to
 * as_of, by id, then per (owner, currency) sums. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "record_check.h"
#include "report_impl.h"

#define NAME "receivables"

typedef struct recv_sum {
    uint32_t owner, currency;
    int64_t won, collected, outstanding;
} recv_sum;

static _Thread_local const report_data *t_data;

static int cmp_sum(const void *a, const void *b)
{
    const recv_sum *x = a, *y = b;
    int c = sfsm__cmp_null_first(rd_s(t_data, x->owner), rd_s(t_data, y->owner));
    return c ? c : sfsm__cmp_null_first(rd_s(t_data, x->currency), rd_s(t_data, y->currency));
}

static int oom(void)
{
    return sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
}

/* The rows of the won opportunities, written in scan order straight into
 * the table (a store usually delivers them by id already), and their sums.
 * *sorted: 0 if the ids did not come in strcmp order. */
static int compute(report_data *d, sfsm_report *r, recv_sum **sv, size_t *sn, int *sorted)
{
    size_t scap = 0;
    rg_map map = { 0 };
    int rc = SFSM_OK;
    const char *prev = NULL;
    *sorted = 1;
    for (size_t i = 0; i < d->n && !rc; i++) {
        const rd_opp *o = &d->opps[i];
        if (rd_outcome(d, o->stage) != SFSM_OUTCOME_WON)
            continue;
        const char *id = rd_id(d, o->id);
        if (prev && *sorted && strcmp(prev, id) >= 0)
            *sorted = 0;
        prev = id;
        int64_t collected = o->paid ? d->paid[o->paid - 1] : 0;   /* summed by the loader */
        int found;
        int64_t won_ms = sfsm__rd_first_won(d, o, &found);
        int added;
        long g = sfsm__rg_get(&map, o->owner, o->currency, &added);
        if (g < 0 || (added && sfsm__grow((void **)sv, &scap, *sn + 1, sizeof **sv))) {
            rc = oom();
            break;
        }
        if (added)
            (*sv)[(*sn)++] = (recv_sum){ o->owner, o->currency, 0, 0, 0 };
        recv_sum *s = &(*sv)[g];
        const char *cur = rd_s(d, o->currency);
        int64_t outstanding, outstanding_ms = 0;
        if (__builtin_sub_overflow(o->amount, collected, &outstanding)) {
            char label[SFSM_LABEL_SIZE];
            rc = sfsm_error_set(SFSM_EINVAL,
                                "report '" NAME "': opportunity '%s': the outstanding amount (%lld - %lld) overflows int64",
                                sfsm__label(label, id), (long long)o->amount, (long long)collected);
        }
        if (!rc && !(rc = sfsm__sum_opp(&s->won, o->amount, NAME, "won amounts", cur, id)) &&
            !(rc = sfsm__sum_opp(&s->collected, collected, NAME, "collected amounts", cur, id)))
            rc = sfsm__sum_opp(&s->outstanding, outstanding, NAME, "outstanding amounts", cur, id);
        /* as_of - won_ms: 0 when the clock is behind the won time */
        if (!rc && found && outstanding > 0)
            rc = sfsm__duration(d->now, won_ms, &outstanding_ms, NAME, "the time outstanding (now - won_ms)", id);
        if (rc)
            break;
        size_t row = sfsm__rt_row(r);
        sfsm__rt_text_n(r, row, 0, id, rd_id_size(d, o->id) - 1);
        sfsm__rt_rd_text(r, row, 1, d, o->owner);
        sfsm__rt_rd_text(r, row, 2, d, o->currency);
        sfsm__rt_int(r, row, 3, o->amount);
        sfsm__rt_int(r, row, 4, collected);
        sfsm__rt_int(r, row, 5, outstanding);
        if (found) {
            sfsm__rt_int(r, row, 6, won_ms);
            if (outstanding > 0)
                sfsm__rt_int(r, row, 7, outstanding_ms);
        }
    }
    sfsm__rg_free(&map);
    return rc;
}

/* Puts rows 0 .. n - 1 in strcmp order of their ids (column 0). */
static int order_by_id(sfsm_report *r, size_t n)
{
    const char **ids = NULL;
    rd_sort *order = NULL;
    size_t cap = 0, ocap = 0;
    if (r->failed || sfsm__grow((void **)&ids, &cap, n, sizeof *ids) ||
        sfsm__grow((void **)&order, &ocap, n, sizeof *order)) {
        sfsm__free(ids);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = r->text + r->vals[i * r->ncols];
        order[i] = (rd_sort){ 0, i };
    }
    int rc = sfsm__sort_rows(order, n, ids, sizeof *ids, 0) || sfsm__rt_order(r, 0, order, n) ? -1 : 0;
    sfsm__free(ids);
    sfsm__free(order);
    return rc;
}

int sfsm_report_receivables(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, RD_PAYMENTS | RD_WON_ONLY, &d, out);
    if (rc)
        return rc;
    static const char *const cols[] = { "id",          "owner",       "currency", "won",
                                        "collected",   "outstanding", "won_ms",   "outstanding_ms" };
    sfsm_report *r = sfsm__rt_new(NAME, cols, 8);
    /* one row per won opportunity */
    size_t won = d.n_outcome[SFSM_OUTCOME_WON];
    sfsm__rt_reserve(r, won, 0);
    recv_sum *sv = NULL;
    size_t sn = 0;
    int sorted = 1;
    rc = r ? compute(&d, r, &sv, &sn, &sorted) : oom();
    if (!rc && !sorted && order_by_id(r, r->nrows))
        rc = oom();
    if (!rc) {
        t_data = &d;
        if (sn)
            qsort(sv, sn, sizeof *sv, cmp_sum);
        for (size_t i = 0; i < sn; i++) {
            size_t row = sfsm__rt_row(r);
            sfsm__rt_rd_text(r, row, 1, &d, sv[i].owner);
            sfsm__rt_rd_text(r, row, 2, &d, sv[i].currency);
            sfsm__rt_int(r, row, 3, sv[i].won);
            sfsm__rt_int(r, row, 4, sv[i].collected);
            sfsm__rt_int(r, row, 5, sv[i].outstanding);
        }
        rc = sfsm__rt_finish(r, out);
    } else {
        sfsm_report_free(r);
    }
    sfsm__free(sv);
    sfsm__rd_free(&d);
    return rc;
}
