/* stale: open opportunities longer in their stage than its stale-after days
 * allow, at as_of (or the engine clock's now), oldest stage entry first. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "stale"
#define DAY_MS INT64_C(86400000)

/* Sorted by entry into the stage, then id: ids are compared only on the
 * rare ties, never ranked up front. */
typedef struct stale_row {
    int64_t entered;
    const char *id;     /* in the report data's pool of ids */
    /* what the row shows, copied in scan order so that filling the table in
     * sorted order does not jump around the opportunities (nor the ids'
     * offsets: only the text of an id is read then, prefetched) */
    uint32_t id_len, owner, customer;
    int32_t stage;
} stale_row;

static int cmp_entered(const void *a, const void *b)
{
    const stale_row *x = a, *y = b;
    if (x->entered != y->entered)
        return x->entered < y->entered ? -1 : 1;
    return strcmp(x->id, y->id);
}

int sfsm_report_stale(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "report '" NAME "': out is NULL");
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, 0, &d);
    if (rc)
        return rc;
    stale_row *v = NULL;
    size_t n = 0, cap = 0, text = 0;
    size_t stage_len[SFSM_MAX_STAGES];   /* the stage names' lengths, for every row */
    for (size_t k = 0; k < d.p->stage_count; k++)
        stage_len[k] = strlen(d.p->stages[k].name);
    /* at most one row per open opportunity, reserved at once */
    size_t open = d.n_outcome[SFSM_OUTCOME_OPEN];
    if (open && sfsm__grow((void **)&v, &cap, open, sizeof *v))
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    for (size_t i = 0; !rc && i < d.n; i++) {
        const rd_opp *o = &d.opps[i];
        if (rd_outcome(&d, o->stage) != SFSM_OUTCOME_OPEN)
            continue;
        int days = d.p->stages[o->stage].stale_days;
        int64_t in_stage;
        if (days <= 0 || __builtin_sub_overflow(d.now, o->entered, &in_stage) || in_stage <= (int64_t)days * DAY_MS)
            continue;
        if (sfsm__grow((void **)&v, &cap, n + 1, sizeof *v)) {
            rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
            break;
        }
        size_t id_size = rd_id_size(&d, o->id);
        v[n++] = (stale_row){ o->entered, rd_id(&d, o->id), (uint32_t)id_size - 1, o->owner, o->customer, o->stage };
        /* the text cells' bytes, for one reservation */
        text += id_size + rd_size(&d, o->owner) + rd_size(&d, o->customer);
        text += stage_len[o->stage] + 1;
    }
    if (!rc) {
        if (n)
            qsort(v, n, sizeof *v, cmp_entered);
        static const char *const cols[] = { "id",         "stage",         "owner",     "customer",
                                            "entered_ms", "days_in_stage", "stale_days" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 7);
        sfsm__rt_reserve(r, n, text);
        for (size_t i = 0; r && i < n; i++) {
            const stale_row *x = &v[i];
            if (i + 8 < n)
                __builtin_prefetch(v[i + 8].id);   /* ids sit in load order, rows in time order */
            size_t row = sfsm__rt_row(r);
            sfsm__rt_text_n(r, row, 0, x->id, x->id_len);
            sfsm__rt_text_n(r, row, 1, d.p->stages[x->stage].name, stage_len[x->stage]);
            sfsm__rt_rd_text(r, row, 2, &d, x->owner);
            sfsm__rt_rd_text(r, row, 3, &d, x->customer);
            sfsm__rt_int(r, row, 4, x->entered);
            sfsm__rt_int(r, row, 5, (d.now - x->entered) / DAY_MS);
            sfsm__rt_int(r, row, 6, d.p->stages[x->stage].stale_days);
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__free(v);
    sfsm__rd_free(&d);
    return rc;
}
