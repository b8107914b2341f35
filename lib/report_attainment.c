/* attainment: won amounts against targets, per owner and per team, for
 * exactly one calendar year, quarter, month or ISO week. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "report_impl.h"

#define NAME "attainment"
#define DAY_MS INT64_C(86400000)

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Monday of ISO week 1 of year y, in days. */
static int64_t iso_week1(int64_t y)
{
    int64_t jan4 = days_from_civil(y, 1, 4);
    int64_t wd = ((jan4 + 3) % 7 + 7) % 7;   /* 0 = Monday */
    return jan4 - wd;
}

/* The calendar period [from, to) is, if any. */
static int period_of(int64_t from, int64_t to, sfsm_period *p)
{
    if (from % DAY_MS != 0 || to % DAY_MS != 0)
        return -1;
    int64_t day = from / DAY_MS, end = to / DAY_MS, y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    if (y < 1970 || y > 9999)
        return -1;
    if (d == 1) {
        int64_t ny = m == 12 ? y + 1 : y;
        int nm = m == 12 ? 1 : m + 1;
        if (m == 1 && end == days_from_civil(y + 1, 1, 1)) {
            *p = (sfsm_period){ (int)y, SFSM_PERIOD_YEAR, 1 };
            return 0;
        }
        if ((m - 1) % 3 == 0 && end == days_from_civil(m >= 10 ? y + 1 : y, m >= 10 ? 1 : m + 3, 1)) {
            *p = (sfsm_period){ (int)y, SFSM_PERIOD_QUARTER, (m - 1) / 3 + 1 };
            return 0;
        }
        if (end == days_from_civil(ny, nm, 1)) {
            *p = (sfsm_period){ (int)y, SFSM_PERIOD_MONTH, m };
            return 0;
        }
    }
    if (((day + 3) % 7 + 7) % 7 == 0 && end == day + 7) {
        int64_t iy;
        int im, id;
        civil_from_days(day + 3, &iy, &im, &id);   /* the week's Thursday */
        if (iy < 1970 || iy > 9999)
            return -1;
        *p = (sfsm_period){ (int)iy, SFSM_PERIOD_WEEK, (int)((day - iso_week1(iy)) / 7 + 1) };
        return 0;
    }
    return -1;
}

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
    if (period_of(d.from, d.to, &period))
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
        rc = sfsm__sum(&won[g], o->amount, NAME, "won amounts", rd_s(&d, o->currency));
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
            if (bp > INT64_MAX)
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
