/* receivables: won opportunities with what has been collected on them up to
 * as_of, by id, then per (owner, currency) sums. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "receivables"

typedef struct recv {
    uint64_t key;       /* the id's first 8 bytes, big-endian: orders like strcmp */
    const char *id;     /* in the report data's pool of ids */
    /* what the row shows, copied in scan order so that filling the table in
     * id order does not jump around the opportunities */
    int64_t amount, collected, won_ms;
    uint32_t id_len, owner, currency;
    uint8_t has_won_ms;
} recv;

typedef struct recv_sum {
    uint32_t owner, currency;
    int64_t won, collected, outstanding;
} recv_sum;

static _Thread_local const report_data *t_data;

static int cmp_id(const void *a, const void *b)
{
    const recv *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The first 8 bytes of s (zero-padded) as a big-endian number: comparing
 * two keys orders as strcmp would, up to the 8th byte. */
static uint64_t prefix_key(const char *s)
{
    uint64_t k = 0;
    int i = 0;
    for (; i < 8 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    return k << (8 * (8 - i));
}

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

static int compute(report_data *d, recv **rv, size_t *rn, recv_sum **sv, size_t *sn, size_t *text)
{
    size_t cap = 0, scap = 0;
    rg_map map = { 0 };
    /* one row per won opportunity, all reserved at once */
    size_t won = d->n_outcome[SFSM_OUTCOME_WON];
    if (won && sfsm__grow((void **)rv, &cap, won, sizeof **rv))
        return oom();
    int rc = SFSM_OK;
    for (size_t i = 0; i < d->n && !rc; i++) {
        const rd_opp *o = &d->opps[i];
        if (rd_outcome(d, o->stage) != SFSM_OUTCOME_WON)
            continue;
        if (sfsm__grow((void **)rv, &cap, *rn + 1, sizeof **rv)) {
            rc = oom();
            break;
        }
        recv *x = &(*rv)[(*rn)++];
        size_t id_size = rd_id_size(d, o->id);
        x->id = rd_id(d, o->id);
        x->key = prefix_key(x->id);
        x->amount = o->amount;
        x->id_len = (uint32_t)id_size - 1;
        x->owner = o->owner;
        x->currency = o->currency;
        *text += id_size + rd_size(d, o->owner) + rd_size(d, o->currency);
        x->collected = o->paid ? d->paid[o->paid - 1] : 0;   /* summed by the loader */
        int found;
        x->won_ms = sfsm__rd_first_won(d, o, &found);
        x->has_won_ms = (uint8_t)found;
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
        int64_t outstanding;
        if (__builtin_sub_overflow(o->amount, x->collected, &outstanding))
            rc = sfsm_error_set(SFSM_EINVAL, "report '" NAME "': outstanding amount overflows int64");
        if (!rc && !(rc = sfsm__sum(&s->won, o->amount, NAME, "won amounts", cur)) &&
            !(rc = sfsm__sum(&s->collected, x->collected, NAME, "collected amounts", cur)))
            rc = sfsm__sum(&s->outstanding, outstanding, NAME, "outstanding amounts", cur);
    }
    sfsm__rg_free(&map);
    return rc;
}

int sfsm_report_receivables(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "report '" NAME "': out is NULL");
    report_data d = { 0 };
    int rc = sfsm__rd_load(e, f, NAME, 0, RD_PAYMENTS, &d);
    if (rc)
        return rc;
    recv *rv = NULL;
    recv_sum *sv = NULL;
    size_t rn = 0, sn = 0, text = 0;
    rc = compute(&d, &rv, &rn, &sv, &sn, &text);
    if (!rc) {
        t_data = &d;
        size_t sorted = 1;
        while (sorted < rn && cmp_id(&rv[sorted - 1], &rv[sorted]) < 0)
            sorted++;
        if (sorted < rn)
            qsort(rv, rn, sizeof *rv, cmp_id);
        if (sn)
            qsort(sv, sn, sizeof *sv, cmp_sum);
        static const char *const cols[] = { "id",          "owner",       "currency", "won",
                                            "collected",   "outstanding", "won_ms",   "outstanding_ms" };
        sfsm_report *r = sfsm__rt_new(NAME, cols, 8);
        sfsm__rt_reserve(r, rn + sn, text);
        for (size_t i = 0; r && i < rn; i++) {
            const recv *x = &rv[i];
            if (i + 8 < rn)
                __builtin_prefetch(rv[i + 8].id);
            size_t row = sfsm__rt_row(r);
            int64_t outstanding = x->amount - x->collected;
            sfsm__rt_text_n(r, row, 0, x->id, x->id_len);
            sfsm__rt_rd_text(r, row, 1, &d, x->owner);
            sfsm__rt_rd_text(r, row, 2, &d, x->currency);
            sfsm__rt_int(r, row, 3, x->amount);
            sfsm__rt_int(r, row, 4, x->collected);
            sfsm__rt_int(r, row, 5, outstanding);
            if (x->has_won_ms) {
                sfsm__rt_int(r, row, 6, x->won_ms);
                if (outstanding > 0)
                    sfsm__rt_int(r, row, 7, d.now - x->won_ms);
            }
        }
        for (size_t i = 0; r && i < sn; i++) {
            size_t row = sfsm__rt_row(r);
            sfsm__rt_rd_text(r, row, 1, &d, sv[i].owner);
            sfsm__rt_rd_text(r, row, 2, &d, sv[i].currency);
            sfsm__rt_int(r, row, 3, sv[i].won);
            sfsm__rt_int(r, row, 4, sv[i].collected);
            sfsm__rt_int(r, row, 5, sv[i].outstanding);
        }
        rc = sfsm__rt_finish(r, out);
    }
    sfsm__free(rv);
    sfsm__free(sv);
    sfsm__rd_free(&d);
    return rc;
}
