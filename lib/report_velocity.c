/* velocity: how long stays in each stage last (stays that ended in the
 * period), then per owner the cycle from creation to the first won stage of
 * the opportunities won in the period. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "velocity"

/* What a duration is, in a message: one of them, and their sum. */
typedef struct ms_kind {
    const char *one, *sum;
} ms_kind;
static const ms_kind STAY = { "a stay (leaving - entering the stage)", "stay durations" };
static const ms_kind CYCLE = { "the cycle (first won - created)", "cycle times" };

typedef struct ms_list {
    uint32_t owner;   /* cycle groups only */
    int64_t *v;
    size_t n, cap;
    int64_t sum;
} ms_list;

/* Adds the duration from start to end (0 if end precedes start: a clock
 * behind the data) of opportunity opp. */
static int ms_add(ms_list *l, int64_t end, int64_t start, const ms_kind *what, const char *opp)
{
    int64_t ms;
    int rc = sfsm__duration(end, start, &ms, NAME, what->one, opp);
    if (rc)
        return rc;
    if (sfsm__grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    l->v[l->n++] = ms;
    return sfsm__sum_opp(&l->sum, ms, NAME, what->sum, NULL, opp);
}

static _Thread_local const report_data *t_data;

static int cmp_owner(const void *a, const void *b)
{
    return strcmp(rd_s(t_data, ((const ms_list *)a)->owner), rd_s(t_data, ((const ms_list *)b)->owner));
}

static void put_row(sfsm_report *r, const char *stage, const char *owner, ms_list *l)
{
    size_t row = sfsm__rt_row(r);
    sfsm__rt_text(r, row, 0, stage);
    sfsm__rt_text(r, row, 1, owner);
    sfsm__rt_int(r, row, 2, (int64_t)l->n);
    if (l->n) {
        sfsm__rt_int(r, row, 3, sfsm__floor_div(l->sum, (int64_t)l->n));
        sfsm__rt_int(r, row, 4, sfsm__median(l->v, l->n));
    }
}

/* The stays of one opportunity: a stay begins when an entry puts it into a
 * stage and ends at the first later entry that moves it to another one. */
static int stays(const report_data *d, const rd_opp *o, ms_list *stage)
{
    const rd_entry *h = rd_hist(d, o);
    int started = 0, cur = -1;
    int64_t start = 0;
    for (uint32_t k = 0; k < o->nhist; k++) {
        if (!rd_visible(d, &h[k]) || h[k].kind == SFSM_HISTORY_UPDATE)
            continue;
        if (started && h[k].to == cur)
            continue;
        if (started && cur >= 0 && rd_in_period(d, h[k].at)) {
            int rc = ms_add(&stage[cur], h[k].at, start, &STAY, rd_id(d, o->id));
            if (rc)
                return rc;
        }
        started = 1;
        cur = h[k].to;
        start = h[k].at;
    }
    return SFSM_OK;
}

int sfsm_report_velocity(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, 0, &d, out);
    if (rc)
        return rc;
    int ok = 1;
    uint32_t empty = sfsm__rd_intern(&d.str, "", 0, &ok);
    ms_list *stage = sfsm__calloc(d.p->stage_count, sizeof *stage);
    ms_list *cyc = NULL;
    size_t ncyc = 0, cyc_cap = 0;
    rg_map map = { 0 };
    if (!ok || !stage)
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
    for (size_t i = 0; i < d.n && !rc; i++) {
        const rd_opp *o = &d.opps[i];
        if ((rc = stays(&d, o, stage)))
            break;
        int won;
        int64_t at = sfsm__rd_first_won(&d, o, &won);
        if (!won || !rd_in_period(&d, at))
            continue;
        uint32_t owner = o->owner ? o->owner : empty;
        int added;
        long g = sfsm__rg_get(&map, owner, 0, &added);
        if (g < 0 || (added && sfsm__grow((void **)&cyc, &cyc_cap, ncyc + 1, sizeof *cyc))) {
            rc = sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '" NAME "'");
            break;
        }
        if (added) {
            memset(&cyc[ncyc], 0, sizeof *cyc);
            cyc[ncyc++].owner = owner;
        }
        rc = ms_add(&cyc[g], at, o->created, &CYCLE, rd_id(&d, o->id));
    }
    if (!rc) {
        t_data = &d;
        if (ncyc)
            qsort(cyc, ncyc, sizeof *cyc, cmp_owner);
        static const char *const cols[] = { "stage", "owner", "stays", "avg_ms", "median_ms" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 5);
        for (size_t s = 0; r && s < d.p->stage_count; s++)
            if (stage[s].n)
                put_row(r, d.p->stages[s].name, NULL, &stage[s]);
        for (size_t g = 0; r && g < ncyc; g++)
            put_row(r, "cycle", rd_s(&d, cyc[g].owner), &cyc[g]);
        rc = sfsm__rt_finish(r, out);
    }
    for (size_t s = 0; stage && s < d.p->stage_count; s++)
        sfsm__free(stage[s].v);
    for (size_t g = 0; g < ncyc; g++)
        sfsm__free(cyc[g].v);
    sfsm__free(stage);
    sfsm__free(cyc);
    sfsm__rg_free(&map);
    sfsm__rd_free(&d);
    return rc;
}
