/* stale: open opportunities longer in their stage than its stale-after days
 * allow, at as_of (or the engine clock's now), oldest stage entry first. */
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "stale"
#define DAY_MS INT64_C(86400000)

/* Sorted by entry into the stage, then id: ids are compared only on the
 * rare ties, never ranked up front (sfsm__sort_rows). */
typedef struct stale_row {
    int64_t entered;
    const char *id;     /* in the report data's pool of ids */
    /* what the row shows, copied in scan order so that filling the table in
     * sorted order does not jump around the opportunities (nor the ids'
     * offsets: only the text of an id is read then, prefetched) */
    uint32_t id_len, owner, customer;
    int32_t stage;
    int64_t days;       /* in the stage */
} stale_row;

int sfsm_report_stale(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, RD_NO_HISTORY, &d, out);
    if (rc)
        return rc;
    stale_row *v = NULL;
    rd_sort *order = NULL;   /* the rows' keys: entry times as unsigned */
    size_t n = 0, cap = 0, ocap = 0, text = 0;
    size_t stage_len[SFSM_MAX_STAGES];   /* the stage names' lengths, for every row */
    for (size_t k = 0; k < d.p->stage_count; k++)
        stage_len[k] = strlen(d.p->stages[k].name);
    /* at most one row per open opportunity, reserved at once */
    size_t open = d.n_outcome[SFSM_OUTCOME_OPEN];
    if (open && (sfsm__grow((void **)&v, &cap, open, sizeof *v) ||
                 sfsm__grow((void **)&order, &ocap, open, sizeof *order)))
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    for (size_t i = 0; !rc && i < d.n; i++) {
        const rd_opp *o = &d.opps[i];
        if (rd_outcome(&d, o->stage) != SFSM_OUTCOME_OPEN)
            continue;
        int days = d.p->stages[o->stage].stale_days;
        int64_t in_stage;
        if (days <= 0)
            continue;
        /* 0 when the clock is behind the stage entry: not stale */
        if ((rc = sfsm__duration(d.now, o->entered, &in_stage, NAME, "the time in stage (now - entered_ms)",
                                 rd_id(&d, o->id))))
            break;
        if (in_stage <= (int64_t)days * DAY_MS)
            continue;
        if (sfsm__grow((void **)&v, &cap, n + 1, sizeof *v) ||
            sfsm__grow((void **)&order, &ocap, n + 1, sizeof *order)) {
            rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
            break;
        }
        size_t id_size = rd_id_size(&d, o->id);
        /* the sign bit flipped: unsigned order is the signed times' order */
        order[n] = (rd_sort){ (uint64_t)o->entered ^ (UINT64_C(1) << 63), n };
        v[n++] = (stale_row){ o->entered,    rd_id(&d, o->id), (uint32_t)id_size - 1,
                              o->owner,      o->customer,      o->stage,
                              in_stage / DAY_MS };
        /* the text cells' bytes, for one reservation */
        text += id_size + rd_size(&d, o->owner) + rd_size(&d, o->customer);
        text += stage_len[o->stage] + 1;
    }
    if (!rc && sfsm__sort_rows(order, n, v, sizeof *v, offsetof(stale_row, id)))
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    if (!rc) {
        static const char *const cols[] = { "id",         "stage",         "owner",     "customer",
                                            "entered_ms", "days_in_stage", "stale_days" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 7);
        sfsm__rt_reserve(r, n, text);
        for (size_t i = 0; r && i < n; i++) {
            const stale_row *x = &v[order[i].ix];
            /* rows and ids sit in load order, read in time order */
            if (i + 16 < n)
                __builtin_prefetch(&v[order[i + 16].ix]);
            if (i + 8 < n)
                __builtin_prefetch(v[order[i + 8].ix].id);
            size_t row = sfsm__rt_row(r);
            sfsm__rt_text_n(r, row, 0, x->id, x->id_len);
            sfsm__rt_text_n(r, row, 1, d.p->stages[x->stage].name, stage_len[x->stage]);
            sfsm__rt_rd_text(r, row, 2, &d, x->owner);
            sfsm__rt_rd_text(r, row, 3, &d, x->customer);
            sfsm__rt_int(r, row, 4, x->entered);
            sfsm__rt_int(r, row, 5, x->days);
            sfsm__rt_int(r, row, 6, d.p->stages[x->stage].stale_days);
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__free(v);
    sfsm__free(order);
    sfsm__rd_free(&d);
    return rc;
}
