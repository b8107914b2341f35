/* Teams, sales targets and payments (targets.h), kept in the engine's store
 * through the version-3 members of the storage interface. */
#include <stdio.h>
#include <string.h>

#include <salesfsm/engine.h>
#include <salesfsm/targets.h>

#include "alloc.h"
#include "engine_impl.h"
#include "periods.h"
#include "record_check.h"
#include "store_impl.h"
#include "text.h"

/* The engine is there and its store's backend knows version 3. */
static int need_v3(sfsm_engine *e, const char *fn)
{
    if (!e)
        return sfsm_error_set(SFSM_EINVAL, "%s: engine is NULL", fn);
    if (e->s->ops.version < 3)
        return sfsm_error_set(SFSM_EVERSION,
                              "%s: the store's backend implements ops version %u; teams, targets and payments "
                              "need version 3",
                              fn, e->s->ops.version);
    return SFSM_OK;
}

/* Ends a write transaction: commit on success, else undo everything. */
static int finish(sfsm_store *s, int rc)
{
    if (rc) {
        sfsm__store_rollback(s);
        return rc;
    }
    return sfsm__store_commit(s);
}

/* ---- teams ---- */

int sfsm_team_set(sfsm_engine *e, const char *owner, const char *team)
{
    int rc = need_v3(e, "sfsm_team_set");
    if (rc || (rc = sfsm__check_name("owner", owner, SFSM_MAX_TEXT)) ||
        (team && (rc = sfsm__check_name("team", team, SFSM_MAX_NAME))))
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__engine_begin_write(e)))
        return rc;
    return finish(s, s->ops.team_put(s->backend, owner, team));
}

/* A listing's callback behind the check of each row: bad keeps the check's
 * error apart from what cb returns. */
typedef struct checked {
    union {
        sfsm_team_cb team;
        sfsm_target_cb target;
    } cb;
    void *ud;
    int bad;
} checked;

static int check_team(const char *owner, const char *team, void *ud)
{
    checked *c = ud;
    if ((c->bad = sfsm__team_check(owner, team)))
        return c->bad;
    return c->cb.team(owner, team, c->ud);
}

int sfsm_team_list(sfsm_engine *e, const char *team, sfsm_team_cb cb, void *ud)
{
    int rc = need_v3(e, "sfsm_team_list");
    if (rc)
        return rc;
    if (!cb)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_team_list: cb is NULL");
    if (team && (rc = sfsm__check_name("team", team, SFSM_MAX_NAME)))
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__store_enter(s)))
        return rc;
    s->in_callback++;
    checked c = { .cb.team = cb, .ud = ud };
    rc = s->ops.team_scan(s->backend, team, check_team, &c);
    s->in_callback--;
    if (c.bad)
        rc = c.bad;
    sfsm__store_leave(s);
    return rc;
}

/* ---- targets ---- */

static int check_subject(const char *what, sfsm_subject_kind kind, const char *subject)
{
    if (kind != SFSM_SUBJECT_OWNER && kind != SFSM_SUBJECT_TEAM)
        return sfsm_error_set(SFSM_EINVAL, "%s_kind: %d is not a subject kind (owner 1, team 2)", what, (int)kind);
    return sfsm__check_name(what, subject, kind == SFSM_SUBJECT_OWNER ? SFSM_MAX_TEXT : SFSM_MAX_NAME);
}

static int check_target(const sfsm_target *t)
{
    if (!t)
        return sfsm_error_set(SFSM_EINVAL, "target: is NULL");
    int rc = check_subject("subject", t->subject_kind, t->subject);
    if (rc || (rc = sfsm__period_check("period", &t->period)))
        return rc;
    if (t->amount < 0)
        return sfsm_error_set(SFSM_EINVAL, "amount: %lld is negative (a target is >= 0)", (long long)t->amount);
    return sfsm__check_currency(t->currency);
}

/* A stored target passes the rules of one given to sfsm_target_set: the
 * same check, its message kept and named as the store's. */
int sfsm__target_check(const sfsm_target *t)
{
    if (check_target(t) == SFSM_OK)
        return SFSM_OK;
    char msg[512], label[SFSM_LABEL_SIZE];
    snprintf(msg, sizeof msg, "%s", sfsm_errmsg());
    const char *kind = t->subject_kind == SFSM_SUBJECT_OWNER ? "owner "
                       : t->subject_kind == SFSM_SUBJECT_TEAM ? "team "
                                                              : "";
    return sfsm_error_set(SFSM_ESTORAGE, "stored target of %s'%s': %s", kind, sfsm__label(label, t->subject), msg);
}

int sfsm_target_set(sfsm_engine *e, const sfsm_target *t)
{
    int rc = need_v3(e, "sfsm_target_set");
    if (rc || (rc = check_target(t)))
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__engine_begin_write(e)))
        return rc;
    return finish(s, s->ops.target_put(s->backend, t));
}

/* floor(a * b / c) for a < 2^63, b < 2^32, 0 < c < 2^40 and a result known
 * to fit: the 96-bit product is divided bit by bit. */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t lo = (a & 0xFFFFFFFFu) * b;
    uint64_t hi = (a >> 32) * b + (lo >> 32);   /* < 2^63: a >> 32 < 2^31 */
    lo &= 0xFFFFFFFFu;
    /* the product is hi * 2^32 + lo */
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((hi >> i) & 1);
        q <<= 1;
        if (r >= c) {
            r -= c;
            q |= 1;
        }
    }
    /* q now holds hi / c (it fits: the result does), r the rest */
    for (int i = 31; i >= 0; i--) {
        r = (r << 1) | ((lo >> i) & 1);
        q <<= 1;
        if (r >= c) {
            r -= c;
            q |= 1;
        }
    }
    return q;
}

int sfsm_target_split(sfsm_engine *e, const sfsm_target *annual, sfsm_period_kind into, const uint32_t *weights,
                      size_t count)
{
    int rc = need_v3(e, "sfsm_target_split");
    if (rc || (rc = check_target(annual)))
        return rc;
    if (annual->period.kind != SFSM_PERIOD_YEAR)
        return sfsm_error_set(SFSM_EINVAL, "period.kind: an annual target must be of kind year (1), not %d",
                              (int)annual->period.kind);
    if (into != SFSM_PERIOD_QUARTER && into != SFSM_PERIOD_MONTH && into != SFSM_PERIOD_WEEK)
        return sfsm_error_set(SFSM_EINVAL, "into: %d is not quarter (2), month (3) or week (4)", (int)into);
    int year = annual->period.year;
    size_t n = (size_t)sfsm__period_parts(year, into);
    uint64_t sum = 0;
    if (weights) {
        if (count != n)
            return sfsm_error_set(SFSM_EINVAL, "weights: %zu given, splitting %d into %s needs %zu", count, year,
                                  into == SFSM_PERIOD_QUARTER ? "quarters" : into == SFSM_PERIOD_MONTH ? "months"
                                                                                                      : "ISO weeks",
                                  n);
        for (size_t i = 0; i < n; i++)
            sum += weights[i];
        if (sum == 0)
            return sfsm_error_set(SFSM_EINVAL, "weights: all %zu are zero", n);
    } else {
        sum = n;
    }
    int64_t parts[53];
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        parts[i] = (int64_t)mul_div((uint64_t)annual->amount, weights ? weights[i] : 1, sum);
        total += (uint64_t)parts[i];
    }
    /* floors lose less than one unit per part with a weight; those parts,
     * earliest first, get the units back (a part weighted 0 stays 0) */
    uint64_t left = (uint64_t)annual->amount - total;
    for (size_t i = 0; left > 0 && i < n; i++)
        if (!weights || weights[i]) {
            parts[i]++;
            left--;
        }

    sfsm_store *s = e->s;
    if ((rc = sfsm__engine_begin_write(e)))
        return rc;
    rc = s->ops.target_put(s->backend, annual);
    for (size_t i = 0; rc == SFSM_OK && i < n; i++) {
        sfsm_target part = *annual;
        part.period.kind = into;
        part.period.index = (int)i + 1;
        part.amount = parts[i];
        rc = s->ops.target_put(s->backend, &part);
    }
    return finish(s, rc);
}

static int check_stored_target(const sfsm_target *t, void *ud)
{
    checked *c = ud;
    if ((c->bad = sfsm__target_check(t)))
        return c->bad;
    return c->cb.target(t, c->ud);
}

int sfsm_target_list(sfsm_engine *e, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                     void *ud)
{
    int rc = need_v3(e, "sfsm_target_list");
    if (rc)
        return rc;
    if (!cb)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_target_list: cb is NULL");
    if (subject && (rc = check_subject("subject", kind, subject)))
        return rc;
    if (year != 0 && (year < SFSM_PERIOD_YEAR_MIN || year > SFSM_PERIOD_YEAR_MAX))
        return sfsm_error_set(SFSM_EINVAL, "year: %d is out of range (0 for all, or %d..%d)", year,
                              SFSM_PERIOD_YEAR_MIN, SFSM_PERIOD_YEAR_MAX);
    sfsm_store *s = e->s;
    if ((rc = sfsm__store_enter(s)))
        return rc;
    s->in_callback++;
    checked c = { .cb.target = cb, .ud = ud };
    rc = s->ops.target_scan(s->backend, subject ? kind : SFSM_SUBJECT_OWNER, subject, year, check_stored_target, &c);
    s->in_callback--;
    if (c.bad)
        rc = c.bad;
    sfsm__store_leave(s);
    return rc;
}

/* ---- payments ---- */

/* A stored payment is read with its opportunity: row checks
 * (sfsm__payment_check), then the opportunity's currency, and all its
 * payments together no more than its amount (what sfsm_payment_add lets
 * in). A payment that breaks them is damage: SFSM_ESTORAGE. */

typedef struct collected {
    const char *currency;   /* the opportunity's */
    int64_t sum;
    uint64_t count;
    int bad;
    char first_currency[4];   /* of the first payment seen */
} collected;

static int add_up(const sfsm_payment *p, void *ud)
{
    collected *c = ud;
    if ((c->bad = sfsm__payment_check(p)) ||
        (c->bad = sfsm__payment_check_currency(p, c->currency ? c->currency : c->count ? c->first_currency : p->currency)))
        return c->bad;
    if (!c->count)
        memcpy(c->first_currency, p->currency, 4);   /* checked: three letters */
    c->count++;
    if (p->amount > INT64_MAX - c->sum) {   /* each at most 2^53-1: about 1024 of them */
        char label[SFSM_LABEL_SIZE];
        return c->bad = sfsm_error_set(SFSM_ESTORAGE, "the payments stored for opportunity '%s' add up beyond 64 bits",
                                       sfsm__label(label, p->opp_id));
    }
    c->sum += p->amount;
    return 0;
}

/* Inside the open transaction: may `amount` be paid against opp_id? Sets *seq. */
static int check_payment(sfsm_engine *e, const char *opp_id, int64_t amount, const char *currency, uint64_t *seq)
{
    sfsm_store *s = e->s;
    sfsm_record rec;
    memset(&rec, 0, sizeof rec);
    int rc = s->ops.get(s->backend, opp_id, &rec);
    if (rc || (rc = sfsm__record_check(NULL, &rec)))   /* its stage is looked up below */
        return rc;
    /* what get handed back lasts until the next call: decide now */
    size_t stage;
    int won = sfsm_pipeline_stage_index(e->p, rec.stage, &stage) == SFSM_OK &&
              sfsm_pipeline_stage_outcome(e->p, stage) == SFSM_OUTCOME_WON;
    if (!won)
        return sfsm_error_set(SFSM_EINVAL, "opp_id: opportunity '%s' is at stage '%.*s', which is not won: payments "
                                           "are recorded only against won opportunities",
                              opp_id, SFSM_MAX_NAME, rec.stage);
    if (!rec.currency || strcmp(rec.currency, currency) != 0)
        return sfsm_error_set(SFSM_EINVAL, "currency: '%s' is not the currency of opportunity '%s' (%s)", currency,
                              opp_id, rec.currency ? rec.currency : "none");
    int64_t due = rec.amount;
    collected c = { .currency = currency };   /* the record's, compared above */
    s->in_callback++;
    rc = s->ops.payment_scan(s->backend, opp_id, add_up, &c);
    s->in_callback--;
    if (c.bad)
        return c.bad;
    if (rc || (rc = sfsm__payments_check_sum(opp_id, c.sum, due, currency)))
        return rc;
    if (amount > due - c.sum)   /* due >= c.sum >= 0: no overflow */
        return sfsm_error_set(SFSM_EINVAL,
                              "amount: %lld is more than is outstanding on opportunity '%s' (%lld of %lld %s "
                              "collected, %lld outstanding)",
                              (long long)amount, opp_id, (long long)c.sum, (long long)due, currency,
                              (long long)(due - c.sum));
    *seq = c.count + 1;
    return SFSM_OK;
}

int sfsm__payments_allow_amount(sfsm_engine *e, const char *opp_id, int64_t amount, const char *currency)
{
    sfsm_store *s = e->s;
    if (s->ops.version < 3)
        return SFSM_OK;   /* a store without payments */
    collected c = { .currency = NULL };
    s->in_callback++;
    int rc = s->ops.payment_scan(s->backend, opp_id, add_up, &c);
    s->in_callback--;
    if (c.bad)
        return c.bad;
    if (rc)
        return rc;
    if (c.count == 0)
        return SFSM_OK;
    char label[SFSM_LABEL_SIZE];
    /* add_up saw no currency to compare with: the first payment's stands for all */
    if (!currency || strcmp(currency, c.first_currency) != 0)
        return sfsm_error_set(SFSM_EINVAL,
                              "currency: '%s', but opportunity '%s' has %llu payment(s) in %s: its currency can no "
                              "longer change",
                              currency ? currency : "none", sfsm__label(label, opp_id), (unsigned long long)c.count,
                              c.first_currency);
    if (amount < c.sum)
        return sfsm_error_set(SFSM_EINVAL,
                              "amount: %lld is less than the %lld %s already collected on opportunity '%s'",
                              (long long)amount, (long long)c.sum, currency, sfsm__label(label, opp_id));
    return SFSM_OK;
}

int sfsm_payment_add(sfsm_engine *e, const char *opp_id, int64_t amount, const char *currency, const char *note)
{
    int rc = need_v3(e, "sfsm_payment_add");
    if (rc || (rc = sfsm__check_name("opp_id", opp_id, SFSM_MAX_ID)))
        return rc;
    if (amount <= 0)
        return sfsm_error_set(SFSM_EINVAL, "amount: %lld is not positive (a payment is > 0)", (long long)amount);
    if ((rc = sfsm__check_currency(currency)) || (rc = sfsm__check_text("note", note, SFSM_MAX_TEXT)))
        return rc;
    int64_t now;
    if ((rc = sfsm__engine_now(e, &now)))
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__engine_begin_write(e)))
        return rc;
    sfsm_payment p = { opp_id, 0, amount, currency, now, note };
    rc = check_payment(e, opp_id, amount, currency, &p.seq);
    if (rc == SFSM_OK)
        rc = s->ops.payment_add(s->backend, &p);
    return finish(s, rc);
}

/* One opportunity's payments, read against its record (targets.h). Only the
 * record's amount and currency are compared with, so only they are checked
 * (sfsm__record_check_amount, not the whole record: its texts and
 * attributes do not reach cb; whoever reads the record itself, through
 * sfsm_opp_open, a scan or a report, still checks all of it). */
typedef struct pay_run {
    int found;          /* the opportunity exists */
    int64_t amount;     /* its amount and currency, copied: get's lasts until the next call */
    char currency[4];   /* "" for none */
    int64_t sum;
    sfsm_payment_cb cb; /* NULL: the checking read */
    void *ud;
    int bad;
} pay_run;

static int run_payment(const sfsm_payment *p, void *ud)
{
    pay_run *r = ud;
    char label[SFSM_LABEL_SIZE];
    if ((r->bad = sfsm__payment_check(p)))
        return r->bad;
    if (!r->found)
        return r->bad = sfsm_error_set(SFSM_ESTORAGE, "stored payment %llu of opportunity '%s': no such opportunity",
                                       (unsigned long long)p->seq, sfsm__label(label, p->opp_id));
    if ((r->bad = sfsm__payment_check_currency(p, r->currency[0] ? r->currency : NULL)))
        return r->bad;
    r->sum += p->amount;   /* each <= 2^53-1, and the sum stays <= amount <= 2^53-1 */
    if ((r->bad = sfsm__payments_check_sum(p->opp_id, r->sum, r->amount, r->currency)))
        return r->bad;
    return r->cb ? r->cb(p, r->ud) : 0;
}

/* The payments of id: read once to check them all, then again (checked
 * again: the store may have changed between) handing each to cb. */
static int list_one(sfsm_store *s, const char *id, sfsm_payment_cb cb, void *ud)
{
    sfsm_record rec;
    memset(&rec, 0, sizeof rec);
    pay_run r = { 0, 0, "", 0, NULL, NULL, 0 };
    int rc = s->ops.get(s->backend, id, &rec);
    if (rc == SFSM_OK && (rc = sfsm__record_check_amount(&rec)) == SFSM_OK) {
        r.found = 1;
        r.amount = rec.amount;
        if (rec.currency)
            memcpy(r.currency, rec.currency, 4);   /* checked: three letters */
    } else if (rc != SFSM_ENOTFOUND) {
        return rc;
    }
    for (int pass = 0; pass < 2; pass++) {
        r.sum = 0;
        r.cb = pass ? cb : NULL;
        r.ud = ud;
        rc = s->ops.payment_scan(s->backend, id, run_payment, &r);
        if (r.bad || rc)
            return r.bad ? r.bad : rc;
    }
    return SFSM_OK;
}

/* Listing all: the opportunities with payments, in the scan's order, each
 * id once (payments come grouped by opportunity). Rows are checked here so
 * no damaged id is kept. */
typedef struct pay_ids {
    sfsm_buf ids;    /* NUL-terminated ids one after another */
    size_t last;     /* offset of the last id added */
    int bad;
} pay_ids;

static int collect_id(const sfsm_payment *p, void *ud)
{
    pay_ids *l = ud;
    if ((l->bad = sfsm__payment_check(p)))
        return l->bad;
    if (l->ids.len && strcmp(l->ids.data + l->last, p->opp_id) == 0)
        return 0;
    l->last = l->ids.len;
    sfsm__buf_add(&l->ids, p->opp_id, strlen(p->opp_id) + 1);
    if (l->ids.failed)
        return l->bad = sfsm_error_set(SFSM_ENOMEM, "out of memory listing payments");
    return 0;
}

int sfsm_payment_list(sfsm_engine *e, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    int rc = need_v3(e, "sfsm_payment_list");
    if (rc)
        return rc;
    if (!cb)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_payment_list: cb is NULL");
    if (opp_id && (rc = sfsm__check_name("opp_id", opp_id, SFSM_MAX_ID)))
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__store_enter(s)))
        return rc;
    s->in_callback++;
    if (opp_id) {
        rc = list_one(s, opp_id, cb, ud);
    } else {
        pay_ids l;
        memset(&l, 0, sizeof l);
        rc = s->ops.payment_scan(s->backend, NULL, collect_id, &l);
        if (l.bad)
            rc = l.bad;
        for (size_t at = 0; rc == SFSM_OK && at < l.ids.len; at += strlen(l.ids.data + at) + 1)
            rc = list_one(s, l.ids.data + at, cb, ud);
        sfsm__buf_free(&l.ids);
    }
    s->in_callback--;
    sfsm__store_leave(s);
    return rc;
}
