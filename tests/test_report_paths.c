/* Report paths the built-in stores never take, reached through a backend of
 * the test's own (sys/store.h) whose data the test lays down directly:
 * history read per opportunity (no history_scan), history_scan in another
 * order than the scan, older ops versions (no teams), backend failures, the
 * as-of reader of stored `changes` (valid and invalid), receivables whose
 * ids come out of order (and the text sorter behind it), the table's
 * accessors and JSON form, and out of memory at every allocation. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include <salesfsm/sys/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the test backend: records and history laid down by the test ---- */

#define TB_HIST 12

typedef struct tb_ent {
    uint64_t version;
    int64_t at;
    int kind;
    const char *from, *to;
    uint32_t fields;
    const char *changes;   /* points at buf unless set by the test */
    char buf[200];
} tb_ent;

typedef struct tb_rec {
    const char *id, *owner, *customer, *currency, *stage, *pipeline;
    char idb[SFSM_MAX_ID + 1], ownerb[64], customerb[64], currencyb[8];
    uint64_t version;
    int64_t amount, close, created, entered;
    tb_ent h[TB_HIST];
    size_t nh;
    int ghost;   /* scanned, but read_history says it is gone */
} tb_rec;

typedef struct tb_pay {
    const char *opp;
    uint64_t seq;
    int64_t amount, at;
} tb_pay;

typedef struct tb {
    tb_rec **r;
    size_t n;
    const char *teams[8][2];   /* owner, team: sorted by team, then owner */
    size_t nteams;
    sfsm_target targets[4];
    size_t ntargets;
    tb_pay pays[1100];
    size_t npays;
    int hs_reverse;     /* history_scan: records in reverse order */
    const char *fail;   /* the op that fails with SFSM_ESTORAGE */
    int reads, hscans;  /* read_history and history_scan calls */
} tb;

static int tb_failing(tb *t, const char *op)
{
    if (t->fail && strcmp(t->fail, op) == 0)
        return sfsm_error_set(SFSM_ESTORAGE, "test backend: %s failed (injected)", op);
    return SFSM_OK;
}

static tb_rec *tb_find(tb *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i]->id && strcmp(t->r[i]->id, id) == 0)
            return t->r[i];
    return NULL;
}

static void tb_to_record(const tb_rec *r, sfsm_record *o)
{
    memset(o, 0, sizeof *o);
    o->id = r->id;
    o->stage = r->stage;
    o->version = r->version;
    o->amount = r->amount;
    o->currency = r->currency;
    o->customer = r->customer;
    o->owner = r->owner;
    o->expected_close_ms = r->close;
    o->created_ms = r->created;
    o->updated_ms = r->created;
    o->stage_entered_ms = r->entered;
    o->pipeline = r->pipeline;
    o->pipeline_version = 1;
}

static sfsm_history_entry tb_entry(const tb_ent *h)
{
    sfsm_history_entry e = { h->version, h->at, h->kind, h->kind == SFSM_HISTORY_CREATE ? NULL : "ev",
                             h->from, h->to, "tester", "manager", NULL, h->fields, h->changes };
    return e;
}

static void tb_close(void *b) { (void)b; }
static int tb_ok(void *b) { (void)b; return SFSM_OK; }

static int tb_get(void *b, const char *id, sfsm_record *out)
{
    tb_rec *r = tb_find(b, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "test backend: no '%s'", id);
    tb_to_record(r, out);
    return SFSM_OK;
}

static int tb_put(void *b, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    (void)b, (void)expected, (void)changed;
    return sfsm_error_set(SFSM_ESTORAGE, "test backend is read-only (put of '%s')", rec->id);
}

static int tb_append(void *b, const char *id, const sfsm_history_entry *e)
{
    (void)b, (void)e;
    return sfsm_error_set(SFSM_ESTORAGE, "test backend is read-only (history of '%s')", id);
}

static int tb_read(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    tb *t = b;
    t->reads++;
    int rc = tb_failing(t, "read_history");
    if (rc)
        return rc;
    tb_rec *r = tb_find(t, id);
    if (!r || r->ghost)
        return sfsm_error_set(SFSM_ENOTFOUND, "test backend: no '%s'", id);
    for (size_t i = 0; i < r->nh; i++) {
        sfsm_history_entry e = tb_entry(&r->h[i]);
        if ((rc = cb(&e, ud)))
            return rc;
    }
    return SFSM_OK;
}

static int tb_match(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

static int tb_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    tb *t = b;
    int rc = tb_failing(t, "scan");
    for (size_t i = 0; i < t->n && !rc; i++) {
        const tb_rec *r = t->r[i];
        if (!tb_match(f->stage, r->stage) || !tb_match(f->owner, r->owner) || !tb_match(f->customer, r->customer))
            continue;
        sfsm_record rec;
        tb_to_record(r, &rec);
        rc = cb(&rec, ud);
    }
    return rc;
}

static int tb_hscan(void *b, sfsm_history_scan_cb cb, void *ud)
{
    tb *t = b;
    t->hscans++;
    int rc = tb_failing(t, "history_scan");
    for (size_t k = 0; k < t->n && !rc; k++) {
        const tb_rec *r = t->r[t->hs_reverse ? t->n - 1 - k : k];
        for (size_t i = 0; i < r->nh && !rc && !r->ghost; i++) {
            sfsm_history_entry e = tb_entry(&r->h[i]);
            rc = cb(r->id, &e, ud);
        }
    }
    return rc;
}

static int tb_team_put(void *b, const char *owner, const char *team)
{
    (void)b, (void)team;
    return sfsm_error_set(SFSM_ESTORAGE, "test backend is read-only (team of '%s')", owner);
}

static int tb_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    tb *t = b;
    int rc = tb_failing(t, team ? "team_scan(team)" : "team_scan");
    for (size_t i = 0; i < t->nteams && !rc; i++)
        if (tb_match(team, t->teams[i][1]))
            rc = cb(t->teams[i][0], t->teams[i][1], ud);
    return rc;
}

static int tb_target_put(void *b, const sfsm_target *x)
{
    (void)b;
    return sfsm_error_set(SFSM_ESTORAGE, "test backend is read-only (target of '%s')", x->subject);
}

static int tb_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                          void *ud)
{
    tb *t = b;
    (void)kind;   /* the reports ask for every kind */
    int rc = tb_failing(t, "target_scan");
    for (size_t i = 0; i < t->ntargets && !rc; i++)
        if (tb_match(subject, t->targets[i].subject) && (!year || year == t->targets[i].period.year))
            rc = cb(&t->targets[i], ud);
    return rc;
}

static int tb_pay_add(void *b, const sfsm_payment *p)
{
    (void)b;
    return sfsm_error_set(SFSM_ESTORAGE, "test backend is read-only (payment of '%s')", p->opp_id);
}

static int tb_pay_scan(void *b, const char *opp, sfsm_payment_cb cb, void *ud)
{
    tb *t = b;
    int rc = tb_failing(t, "payment_scan");
    for (size_t i = 0; i < t->npays && !rc; i++) {
        const tb_pay *p = &t->pays[i];
        if (!tb_match(opp, p->opp))
            continue;
        /* in its opportunity's currency, as sfsm_payment_add keeps it */
        const tb_rec *r = tb_find(t, p->opp);
        sfsm_payment x = { p->opp, p->seq, p->amount, r && r->currency ? r->currency : "CNY", p->at, NULL };
        rc = cb(&x, ud);
    }
    return rc;
}

/* version 3 with history_scan, as the built-in stores */
static const sfsm_store_ops TB_V3 = {
    3,           tb_close,       tb_ok,         tb_ok,          tb_ok,         tb_get,
    tb_put,      tb_append,      tb_read,       tb_scan,        NULL,          tb_team_put,
    tb_team_scan, tb_target_put, tb_target_scan, tb_pay_add,    tb_pay_scan,   tb_hscan,
};

enum { OPS_V3, OPS_V3_NO_HSCAN, OPS_V2 };

typedef struct world {
    tb *t;
    sfsm_pipeline *p;
    sfsm_store *s;
    sfsm_engine *e;
    int64_t now;
} world;

static int64_t world_clock(void *ud)
{
    return ((world *)ud)->now;
}

static void world_open(world *w, tb *t, int kind)
{
    memset(w, 0, sizeof *w);
    w->t = t;
    w->now = T0_MS;
    sfsm_store_ops ops = TB_V3;
    if (kind != OPS_V3)
        ops.history_scan = NULL;
    if (kind == OPS_V2) {
        ops.version = 2;
        ops.team_put = NULL;
        ops.team_scan = NULL;
        ops.target_put = NULL;
        ops.target_scan = NULL;
        ops.payment_add = NULL;
        ops.payment_scan = NULL;
    }
    assert_int_equal(sfsm_pipeline_default(&w->p), SFSM_OK);
    assert_int_equal(sfsm_store_new(&w->s, &ops, t), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&w->e, w->p, w->s), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(w->e, world_clock, w), SFSM_OK);
}

static void world_close(world *w)
{
    sfsm_engine_free(w->e);
    sfsm_store_close(w->s);
    sfsm_pipeline_free(w->p);
}

static void tb_free(tb *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->r[i]);
    free(t->r);
    memset(t, 0, sizeof *t);
}

static char *set_text(char *buf, size_t size, const char *s)
{
    if (!s)
        return NULL;
    assert_true(strlen(s) < size);
    return strcpy(buf, s);
}

/* A record at `stage` since `created` (a create entry only; the test adds
 * the rest with tb_move). */
static tb_rec *tb_add(tb *t, const char *id, const char *owner, const char *customer, int64_t amount,
                      const char *currency, int64_t created)
{
    tb_rec **grown = realloc(t->r, (t->n + 1) * sizeof *grown);
    assert_non_null(grown);
    t->r = grown;
    tb_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    t->r[t->n++] = r;
    r->id = set_text(r->idb, sizeof r->idb, id);
    r->owner = set_text(r->ownerb, sizeof r->ownerb, owner);
    r->customer = set_text(r->customerb, sizeof r->customerb, customer);
    r->currency = set_text(r->currencyb, sizeof r->currencyb, currency);
    r->amount = amount;
    r->created = r->entered = created;
    r->stage = "lead";
    r->version = 1;
    tb_ent *h = &r->h[r->nh++];
    h->version = 1;
    h->at = created;
    h->kind = SFSM_HISTORY_CREATE;
    h->to = "lead";
    h->fields = SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER;   /* what changes holds */
    h->changes = h->buf;
    snprintf(h->buf, sizeof h->buf, "{\"amount\":%lld,\"currency\":%s%s%s,\"customer\":%s%s%s,\"owner\":%s%s%s}",
             (long long)amount, currency ? "\"" : "", currency ? currency : "null", currency ? "\"" : "",
             customer ? "\"" : "", customer ? customer : "null", customer ? "\"" : "", owner ? "\"" : "",
             owner ? owner : "null", owner ? "\"" : "");
    return r;
}

/* An entry moving r to `to` at `at` (kind UPDATE: `to` is its stage). */
static tb_ent *tb_move(tb_rec *r, int kind, const char *to, int64_t at)
{
    assert_true(r->nh < TB_HIST);
    tb_ent *h = &r->h[r->nh];
    h->version = ++r->version;
    h->at = at;
    h->kind = kind;
    h->from = r->stage;
    h->to = to;
    r->stage = to;
    if (kind != SFSM_HISTORY_UPDATE)
        r->entered = at;
    r->nh++;
    return h;
}

/* An update of the amount at `at`. */
static void tb_amount(tb_rec *r, int64_t amount, int64_t at)
{
    tb_ent *h = tb_move(r, SFSM_HISTORY_UPDATE, r->stage, at);
    h->fields = SFSM_FIELD_AMOUNT;
    h->changes = h->buf;
    snprintf(h->buf, sizeof h->buf, "{\"amount\":%lld,\"currency\":\"%s\"}", (long long)amount, r->currency);
    r->amount = amount;
}

static const char *const WALK[] = { "lead", "qualified", "quoted", "negotiating", "signed", "delivered", "serviced" };

/* What the demo data holds, computed while it is laid down. */
typedef struct demo_facts {
    int won, lost;           /* closed (won or lost) by their history */
    int64_t won_cny;         /* Σ amounts of won CNY deals */
} demo_facts;

/* 24 opportunities over 4 owners (one unset), 2 currencies and none, walked
 * deterministically through the default pipeline, some lost, some with
 * amount updates, a ghost (its history gone), one of another pipeline, ids
 * created out of their sorted order, teams, targets and payments. */
static void tb_demo(tb *t, demo_facts *facts)
{
    static const char *const owners[] = { "ravi", "mei", NULL, "ana" };
    static const char *const currencies[] = { "CNY", "USD", NULL };
    memset(facts, 0, sizeof *facts);
    for (int i = 0; i < 24; i++) {
        char id[32], customer[32];
        snprintf(id, sizeof id, "D-%02d", (i * 7) % 24);   /* out of sorted order */
        snprintf(customer, sizeof customer, "cust-%d", i % 5);
        const char *cur = currencies[i % 3];
        int64_t amount = cur ? 100000 + 1000 * i : 0;
        int64_t at = T0_MS - 120 * DAY_MS + i * DAY_MS;
        tb_rec *r = tb_add(t, id, owners[i % 4], customer, amount, cur, at);
        int steps = i % 8;   /* 7: lost from lead */
        for (int s = 1; s <= steps && steps < 7; s++) {
            at += (2 + i % 3) * DAY_MS;
            tb_move(r, SFSM_HISTORY_TRANSITION, WALK[s], at);
            if (s == 2 && cur && i % 4 == 1)
                tb_amount(r, r->amount * 2, at + DAY_MS);
        }
        if (steps == 7)
            tb_move(r, SFSM_HISTORY_TRANSITION, "lost", at + 3 * DAY_MS);
        if (steps >= 4 && steps < 7 && amount > 0) {
            if (cur && strcmp(cur, "CNY") == 0)
                facts->won_cny += r->amount;
            t->pays[t->npays++] = (tb_pay){ r->id, 1, r->amount / 4, at + DAY_MS };
        }
        if (steps >= 4 && steps < 7) {
            facts->won += i != 5;   /* the ghost's win is not in its history */
        } else if (steps == 7) {
            facts->lost++;
        }
    }
    t->r[5]->ghost = 1;   /* D-11, open: its history is gone */
    tb_rec *other = tb_add(t, "X-1", "ravi", "cust-0", 5, "CNY", T0_MS - 50 * DAY_MS);
    other->pipeline = "another-pipeline";
    /* a payment of an opportunity that is not loaded */
    t->pays[t->npays++] = (tb_pay){ "X-1", 1, 7, T0_MS - 40 * DAY_MS };
    t->teams[0][0] = "ana", t->teams[0][1] = "east";
    t->teams[1][0] = "ravi", t->teams[1][1] = "east";
    t->teams[2][0] = "mei", t->teams[2][1] = "west";
    t->nteams = 3;
    sfsm_target tg = { SFSM_SUBJECT_OWNER, "ravi", { 2025, SFSM_PERIOD_YEAR, 1 }, 1000000, "CNY" };
    t->targets[t->ntargets++] = tg;
    sfsm_target tt = { SFSM_SUBJECT_TEAM, "east", { 2025, SFSM_PERIOD_YEAR, 1 }, 2000000, "CNY" };
    t->targets[t->ntargets++] = tt;
    sfsm_target tz = { SFSM_SUBJECT_OWNER, "zed", { 2025, SFSM_PERIOD_YEAR, 1 }, 5, "JPY" };
    t->targets[t->ntargets++] = tz;
}

typedef int (*report_fn)(sfsm_engine *, const sfsm_report_filter *, sfsm_report **);

static const struct {
    const char *name;
    report_fn fn;
    int needs_v3;   /* teams, targets or payments */
} REPORTS[] = {
    { "pipeline", sfsm_report_pipeline, 0 },       { "forecast", sfsm_report_forecast, 0 },
    { "funnel", sfsm_report_funnel, 0 },           { "win_rate", sfsm_report_win_rate, 0 },
    { "velocity", sfsm_report_velocity, 0 },       { "stale", sfsm_report_stale, 0 },
    { "calibration", sfsm_report_calibration, 0 }, { "attainment", sfsm_report_attainment, 1 },
    { "receivables", sfsm_report_receivables, 1 },
};
#define NREPORTS (sizeof REPORTS / sizeof REPORTS[0])

#define Y2025_FROM INT64_C(1735689600000)   /* 2025-01-01 */
#define Y2026_FROM INT64_C(1767225600000)   /* 2026-01-01 = T0_MS */

/* The filters the comparisons run under. */
static sfsm_report_filter demo_filter(int k)
{
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    f.from_ms = Y2025_FROM;
    f.to_ms = Y2026_FROM;   /* attainment wants exactly a year */
    switch (k) {
    case 0: break;
    case 1: f.as_of_ms = T0_MS - 70 * DAY_MS; break;
    case 2: f.owner = "ravi"; break;
    case 3: f.customer = "cust-2"; f.as_of_ms = T0_MS - 60 * DAY_MS; break;
    case 4: f.team = "east"; break;
    case 5: f.team = "east"; f.as_of_ms = T0_MS - 80 * DAY_MS; break;
    }
    return f;
}
#define NFILTERS 6

/* Report i under filter k as JSON (NULL + rc on failure). */
static char *report_json(world *w, size_t i, int k, int *rc)
{
    sfsm_report_filter f = demo_filter(k);
    sfsm_report *r = NULL;
    *rc = REPORTS[i].fn(w->e, &f, &r);
    if (*rc) {
        assert_null(r);
        return NULL;
    }
    char *json = NULL;
    assert_int_equal(sfsm_report_to_json(r, &json, NULL), SFSM_OK);
    sfsm_report_free(r);
    return json;
}

/* ---- history read per opportunity; history_scan in another order ---- */

static void test_history_paths_agree(void **state)
{
    (void)state;
    tb t = { 0 };
    demo_facts facts;
    tb_demo(&t, &facts);
    world ref, per_opp, reversed;
    world_open(&ref, &t, OPS_V3);
    world_open(&per_opp, &t, OPS_V3_NO_HSCAN);
    world_open(&reversed, &t, OPS_V3);
    for (size_t i = 0; i < NREPORTS; i++)
        for (int k = 0; k < NFILTERS; k++) {
            int rc1, rc2, rc3;
            t.hs_reverse = 0;
            int reads = t.reads;
            char *a = report_json(&ref, i, k, &rc1);
            assert_true(t.reads - reads <= 1);   /* history_scan, and the ghost alone by read_history */
            int hscans = t.hscans;
            char *b = report_json(&per_opp, i, k, &rc2);
            assert_int_equal(t.hscans, hscans);
            t.hs_reverse = 1;
            char *c = report_json(&reversed, i, k, &rc3);
            if (rc1 != SFSM_OK)
                fail_msg("%s[%d]: %s", REPORTS[i].name, k, sfsm_errmsg());
            assert_int_equal(rc2, SFSM_OK);
            assert_int_equal(rc3, SFSM_OK);
            if (strcmp(a, b) != 0 || strcmp(a, c) != 0)
                fail_msg("%s[%d]:\n history_scan %s\n per opp      %s\n reversed     %s", REPORTS[i].name, k, a, b,
                         c);
            free(a);
            free(b);
            free(c);
        }
    /* ... and what they agree on is right: the totals of the demo data. */
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = NULL;
    assert_int_equal(sfsm_report_win_rate(per_opp.e, &f, &r), SFSM_OK);
    size_t last = sfsm_report_row_count(r) - 1;
    assert_true(sfsm_report_is_null(r, last, 0));
    assert_int_equal(sfsm_report_int(r, last, 1), facts.won);
    assert_int_equal(sfsm_report_int(r, last, 2), facts.lost);
    assert_true(facts.won > 0 && facts.lost > 0);
    sfsm_report_free(r);
    assert_int_equal(sfsm_report_receivables(per_opp.e, &f, &r), SFSM_OK);
    int64_t won_cny = 0;
    for (size_t row = 0; row < sfsm_report_row_count(r); row++)
        if (!sfsm_report_is_null(r, row, 0) && sfsm_report_text(r, row, 2) &&
            strcmp(sfsm_report_text(r, row, 2), "CNY") == 0)
            won_cny += sfsm_report_int(r, row, 3);
    assert_int_equal(won_cny, facts.won_cny);
    sfsm_report_free(r);
    world_close(&ref);
    world_close(&per_opp);
    world_close(&reversed);
    tb_free(&t);
}

/* A store of ops version 2 has no teams, targets or payments. */
static void test_old_store(void **state)
{
    (void)state;
    tb t = { 0 };
    demo_facts facts;
    tb_demo(&t, &facts);
    world v2, v3;
    world_open(&v2, &t, OPS_V2);
    world_open(&v3, &t, OPS_V3_NO_HSCAN);
    for (size_t i = 0; i < NREPORTS; i++)
        for (int k = 0; k < NFILTERS; k++) {
            sfsm_report_filter f = demo_filter(k);
            int rc;
            char *got = report_json(&v2, i, k, &rc);
            if (REPORTS[i].needs_v3) {
                assert_int_equal(rc, SFSM_EVERSION);
                assert_msg_has(REPORTS[i].name);
                assert_msg_has("needs a store with teams, targets and payments (ops version 3)");
            } else if (f.team) {
                assert_int_equal(rc, SFSM_EVERSION);
                assert_msg_has(REPORTS[i].name);
                assert_msg_has("a team filter needs a store with teams (ops version 3)");
            } else {
                assert_int_equal(rc, SFSM_OK);
                int rc3;
                char *want = report_json(&v3, i, k, &rc3);
                assert_int_equal(rc3, SFSM_OK);
                assert_string_equal(got, want);
                free(want);
            }
            free(got);
        }
    world_close(&v2);
    world_close(&v3);
    tb_free(&t);
}

/* A failing backend call fails the report with its code and message. */
static void test_backend_failures(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        int ops;
        report_fn fn;
        int k;
    } cases[] = {
        { "scan", OPS_V3, sfsm_report_pipeline, 0 },
        { "history_scan", OPS_V3, sfsm_report_funnel, 0 },
        { "read_history", OPS_V3_NO_HSCAN, sfsm_report_funnel, 0 },
        { "read_history", OPS_V3_NO_HSCAN, sfsm_report_pipeline, 1 },   /* as_of */
        { "team_scan(team)", OPS_V3, sfsm_report_pipeline, 4 },
        { "team_scan", OPS_V3, sfsm_report_attainment, 0 },
        { "target_scan", OPS_V3, sfsm_report_attainment, 0 },
        { "payment_scan", OPS_V3, sfsm_report_receivables, 0 },
    };
    tb t = { 0 };
    demo_facts facts;
    tb_demo(&t, &facts);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world w;
        world_open(&w, &t, cases[i].ops);
        sfsm_report_filter f = demo_filter(cases[i].k);
        sfsm_report *r = NULL;
        t.fail = NULL;
        assert_int_equal(cases[i].fn(w.e, &f, &r), SFSM_OK);
        sfsm_report_free(r);
        t.fail = cases[i].op;
        r = (sfsm_report *)(void *)&t;
        assert_int_equal(cases[i].fn(w.e, &f, &r), SFSM_ESTORAGE);
        assert_null(r);
        char want[96];
        snprintf(want, sizeof want, "test backend: %s failed (injected)", cases[i].op);
        assert_msg_has(want);
        t.fail = NULL;
        world_close(&w);
    }
    tb_free(&t);
}

/* A record or history entry without an id is the store's fault. */
static void test_missing_ids(void **state)
{
    (void)state;
    for (int ops = OPS_V3; ops <= OPS_V3_NO_HSCAN; ops++) {
        tb t = { 0 };
        tb_rec *r = tb_add(&t, "A-1", "ravi", "acme", 100, "CNY", T0_MS - DAY_MS);
        world w;
        world_open(&w, &t, ops);
        r->id = NULL;
        sfsm_report *out = NULL;
        assert_int_equal(sfsm_report_pipeline(w.e, NULL, &out), SFSM_ESTORAGE);
        assert_null(out);
        assert_msg_has("report 'pipeline'");
        assert_msg_has("id");
        world_close(&w);
        tb_free(&t);
    }
}

static int hscan_no_id(void *b, sfsm_history_scan_cb cb, void *ud)
{
    (void)b;
    sfsm_history_entry e = { 1, T0_MS, SFSM_HISTORY_CREATE, NULL, NULL, "lead", NULL, NULL, NULL, 0, NULL };
    return cb(NULL, &e, ud);
}

static void test_history_entry_without_id(void **state)
{
    (void)state;
    tb t = { 0 };
    tb_add(&t, "A-1", "ravi", "acme", 100, "CNY", T0_MS - DAY_MS);
    sfsm_store_ops ops = TB_V3;
    ops.history_scan = hscan_no_id;
    sfsm_pipeline *p;
    sfsm_store *s;
    sfsm_engine *e;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_new(&s, &ops, &t), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    sfsm_report *out = NULL;
    assert_int_equal(sfsm_report_funnel(e, NULL, &out), SFSM_ESTORAGE);
    assert_null(out);
    assert_msg_has("report 'funnel': a history entry without an opportunity id");
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    tb_free(&t);
}

/* ---- the as-of reader of stored changes ---- */

typedef struct as_of_case {
    const char *changes;
    const char *owner, *customer, *currency;   /* as rebuilt; NULL: unset */
    int64_t amount, close;
} as_of_case;

/* One opportunity created at T0 - 40 d with the given changes, updated at
 * T0 - 5 d (amount, owner, customer, close): as of T0 - 20 d it must be
 * what its create entry says. */
static void as_of_world(tb *t, const char *changes)
{
    tb_rec *r = tb_add(t, "AO-1", "now-owner", "now-customer", 999, "EUR", T0_MS - 40 * DAY_MS);
    r->h[0].changes = changes;
    /* fields names what the changes hold (a store checks that they agree) */
    static const struct {
        const char *key;
        uint32_t bit;
    } keys[] = { { "\"amount\"", SFSM_FIELD_AMOUNT },   { "\"customer\"", SFSM_FIELD_CUSTOMER },
                 { "\"owner\"", SFSM_FIELD_OWNER },     { "\"title\"", SFSM_FIELD_TITLE },
                 { "\"expected_close_ms\"", SFSM_FIELD_EXPECTED_CLOSE }, { "\"attrs\"", SFSM_FIELD_ATTRS } };
    r->h[0].fields = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strstr(changes, keys[i].key))
            r->h[0].fields |= keys[i].bit;
    tb_ent *h = tb_move(r, SFSM_HISTORY_UPDATE, "lead", T0_MS - 5 * DAY_MS);
    h->fields = SFSM_FIELD_AMOUNT | SFSM_FIELD_OWNER | SFSM_FIELD_CUSTOMER | SFSM_FIELD_EXPECTED_CLOSE;
    h->changes = "{\"amount\":999,\"currency\":\"EUR\",\"owner\":\"now-owner\",\"customer\":\"now-customer\","
                 "\"expected_close_ms\":1}";
    /* created after as_of, its create entry without changes: not there then */
    r = tb_add(t, "AO-2", "later", "later", 0, NULL, T0_MS - 10 * DAY_MS);
    r->h[0].changes = NULL;
    r->h[0].fields = 0;
}

static void test_changes_reader_valid(void **state)
{
    (void)state;
    static const as_of_case cases[] = {
        { "{\"amount\":500,\"currency\":\"CNY\",\"customer\":\"acme\",\"owner\":\"ravi\"}", "ravi", "acme", "CNY", 500,
          0 },
        { " \t\r\n{ \"amount\" :\t7 ,\n\"currency\" : \"USD\" , \"owner\":\"o\" ,\"customer\":\"c\" ,"
          "\"expected_close_ms\" : 1767225600000 }",
          "o", "c", "USD", 7, INT64_C(1767225600000) },
        { "{\"owner\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\",\"customer\":\"caf\\u00e9 \\ud83d\\ude00\"}",
          "q\"b\\s/\b\f\n\r\t", "caf\xc3\xa9 \xf0\x9f\x98\x80", NULL, 0, 0 },
        { "{\"amount\":0,\"currency\":null,\"owner\":null,\"customer\":null,\"expected_close_ms\":0}", NULL,
          NULL, NULL, 0, 0 },
        { "{}", NULL, NULL, NULL, 0, 0 },
        { " { } ", NULL, NULL, NULL, 0, 0 },
        { "{\"title\":\"x\\\"y\\u00e9\",\"attrs\":{\"k\":\"v\\u00e9\",\"e\":\"w\"},\"owner\":\"after\"}", "after",
          NULL, NULL, 0, 0 },
        { "{\"amount\":9007199254740991,\"currency\":\"CNY\",\"expected_close_ms\":9007199254740991}", NULL, NULL,
          "CNY", INT64_C(9007199254740991), INT64_C(9007199254740991) },
        { "{\"expected_close_ms\":86400000}", NULL, NULL, NULL, 0, DAY_MS },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const as_of_case *c = &cases[i];
        tb t = { 0 };
        as_of_world(&t, c->changes);
        for (int ops = OPS_V3; ops <= OPS_V3_NO_HSCAN; ops++) {
            world w;
            world_open(&w, &t, ops);
            sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
            f.as_of_ms = T0_MS - 20 * DAY_MS;   /* 20 days in lead: stale (14) */
            sfsm_report *r = NULL;
            int rc = sfsm_report_stale(w.e, &f, &r);
            if (rc != SFSM_OK)
                fail_msg("case %zu: rc %d: %s", i, rc, sfsm_errmsg());
            assert_int_equal(sfsm_report_row_count(r), 1);
            if (c->owner)
                assert_string_equal(sfsm_report_text(r, 0, 2), c->owner);
            else
                assert_true(sfsm_report_is_null(r, 0, 2));
            if (c->customer)
                assert_string_equal(sfsm_report_text(r, 0, 3), c->customer);
            else
                assert_true(sfsm_report_is_null(r, 0, 3));
            sfsm_report_free(r);
            assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
            assert_int_equal(sfsm_report_row_count(r), 1);
            assert_string_equal(sfsm_report_text(r, 0, 0), "lead");
            if (c->currency)
                assert_string_equal(sfsm_report_text(r, 0, 1), c->currency);
            else
                assert_true(sfsm_report_is_null(r, 0, 1));
            assert_int_equal(sfsm_report_int(r, 0, 3), c->amount);
            sfsm_report_free(r);
            /* the close date as of then: inside a period of one ms around it */
            if (c->close && c->close < INT64_MAX) {
                f.from_ms = c->close;
                f.to_ms = c->close + 1;
                assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
                assert_int_equal(sfsm_report_row_count(r), 1);
                sfsm_report_free(r);
                f.from_ms = c->close + 1;
                f.to_ms = c->close + 2;
                assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
                assert_int_equal(sfsm_report_row_count(r), 0);
                sfsm_report_free(r);
            }
            /* the filters see it as it was */
            f = (sfsm_report_filter)SFSM_REPORT_FILTER_INIT;
            f.as_of_ms = T0_MS - 20 * DAY_MS;
            f.owner = "now-owner";
            assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
            assert_int_equal(sfsm_report_row_count(r), 0);
            sfsm_report_free(r);
            f.owner = "nobody";
            assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
            assert_int_equal(sfsm_report_row_count(r), 0);
            sfsm_report_free(r);
            f.owner = NULL;
            f.customer = c->customer ? c->customer : "now-customer";
            assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
            assert_int_equal(sfsm_report_row_count(r), c->customer ? 1 : 0);
            sfsm_report_free(r);
            world_close(&w);
        }
        tb_free(&t);
    }
}

static void test_changes_reader_invalid(void **state)
{
    (void)state;
    static char deep[200];
    memset(deep, 0, sizeof deep);
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    static const char *const bad[] = {
        "",
        "[]",
        "x",
        "{",
        "{ ",
        "{amount:1}",
        "{\"amount\"}",
        "{\"amount\" 1}",
        "{\"amount\":}",
        "{\"amount\":1.5}",
        "{\"amount\":1e3}",
        "{\"amount\":1E3}",
        "{\"amount\":-}",
        "{\"amount\":\"5\"}",
        "{\"amount\":9223372036854775808}",
        "{\"amount\":-9223372036854775809}",
        "{\"amount\":99999999999999999999}",
        "{\"expected_close_ms\":\"x\"}",
        "{\"expected_close_ms\":}",
        "{\"owner\":5}",
        "{\"customer\":[]}",
        "{\"currency\":\"CNY}",
        "{\"owner\":\"a\\x\"}",
        "{\"owner\":\"a\\u12\"}",
        "{\"owner\":\"a\\",
        "{\"title\":\"a\\q\"}",
        "{\"title\":\"a\\u00zz\"}",
        "{\"title\":}",
        "{\"title\":\"unterminated}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,}",
        "{\"a\":1",
        "{\"a\":{\"b\" 1}}",
        "{\"a\":{1:2}}",
        "{\"a\":{\"b\":1,}}",
        "{\"a\":[1,2}",
        "{\"a\":[1 2]}",
        "{\"a\":{\"b\":\"c}}",
        "{\"a\":{\"b\\z\":1}}",
        "{\"a\\z\":1}",
        deep,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb t = { 0 };
        as_of_world(&t, bad[i]);
        t.r[0]->h[0].fields = SFSM_FIELD_AMOUNT | SFSM_FIELD_OWNER;   /* it must be read */
        for (int ops = OPS_V3; ops <= OPS_V3_NO_HSCAN; ops++) {
            world w;
            world_open(&w, &t, ops);
            sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
            f.as_of_ms = T0_MS - 20 * DAY_MS;
            sfsm_report *r = (sfsm_report *)(void *)&t;
            int rc = sfsm_report_stale(w.e, &f, &r);
            if (rc != SFSM_ESTORAGE)
                fail_msg("changes '%s': rc %d, not SFSM_ESTORAGE", bad[i], rc);
            assert_null(r);
            assert_msg_has("report 'stale'");
            assert_msg_has("'AO-1'");
            assert_msg_has("history version 1");
            /* without as_of the changes are not read */
            f.as_of_ms = 0;
            assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
            assert_int_equal(sfsm_report_row_count(r), 2);   /* AO-2 (no currency), AO-1 */
            assert_int_equal(sfsm_report_int(r, 1, 3), 999);
            sfsm_report_free(r);
            world_close(&w);
        }
        tb_free(&t);
    }
}

/* ---- receivables by id; the text sorter ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Won opportunities created in a shuffled order, with ids sharing long
 * prefixes (up to past 64 bytes, where the sorter switches to heapsort),
 * ids that are prefixes of others and ids that differ only in their last
 * byte: the rows come by id in strcmp order, each with its own figures. */
static void test_receivables_order_by_id(void **state)
{
    (void)state;
    static const char *const stems[] = {
        "",
        "Z",
        "deal-",
        "deal-2026-",
        "ACME-CORPORATION-FRAMEWORK-AGREEMENT-2026-LOT-",
        "ACME-CORPORATION-FRAMEWORK-AGREEMENT-2026-LOT-0000000000000000000000000000-PART-",
        "ACME-CORPORATION-FRAMEWORK-AGREEMENT-2026-LOT-0000000000000000000000000000-PART-00000000000000000-",
    };
    enum { N = 120, NPREFIX = 6 };
    char ids[N][SFSM_MAX_ID + 1];
    uint32_t seed = 12345;
    /* prefixes of the longest stem ending exactly at a sorter's 8-byte step */
    static const int cut[NPREFIX] = { 8, 16, 24, 64, 72, 80 };
    for (int i = 0; i < NPREFIX; i++)
        snprintf(ids[i], sizeof ids[i], "%.*s", cut[i], stems[6]);
    for (int i = NPREFIX; i < N; i++) {
        const char *stem = stems[i % 7];
        switch (lcg(&seed) % 4) {
        case 0: snprintf(ids[i], sizeof ids[i], "%s%u", stem, (unsigned)(lcg(&seed) % 1000)); break;
        case 1: snprintf(ids[i], sizeof ids[i], "%s%c", stem, 'a' + (int)(lcg(&seed) % 26)); break;
        case 2: snprintf(ids[i], sizeof ids[i], "%s%08u%c", stem, (unsigned)(lcg(&seed) % 3), 'a' + i % 26); break;
        default: snprintf(ids[i], sizeof ids[i], "%s%03d", stem, i); break;
        }
        if (!ids[i][0] || strlen(ids[i]) > SFSM_MAX_ID)
            snprintf(ids[i], sizeof ids[i], "n%d", i);
        for (int j = 0; j < i; j++)   /* unique */
            if (strcmp(ids[i], ids[j]) == 0) {
                snprintf(ids[i], sizeof ids[i], "%s#%d", stems[i % 7], i);
                j = -1;
            }
    }
    tb t = { 0 };
    for (int i = 0; i < N; i++) {
        tb_rec *r = tb_add(&t, ids[i], i % 3 ? "ravi" : "mei", "acme", 1000 + i, "CNY", T0_MS - 30 * DAY_MS);
        tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - (20 + i % 7) * DAY_MS);
        if (i % 2)
            t.pays[t.npays++] = (tb_pay){ r->id, 1, i, T0_MS - DAY_MS };
    }
    const char *sorted[N];
    for (int i = 0; i < N; i++)
        sorted[i] = ids[i];
    qsort(sorted, N, sizeof *sorted, cmp_str);
    int out_of_order = 0;   /* the store's order is not the ids' */
    for (int i = 0; i + 1 < N; i++)
        out_of_order += strcmp(ids[i], ids[i + 1]) > 0;
    assert_true(out_of_order > N / 4);
    for (int ops = OPS_V3; ops <= OPS_V3_NO_HSCAN; ops++) {
        world w;
        world_open(&w, &t, ops);
        sfsm_report *r = NULL;
        assert_int_equal(sfsm_report_receivables(w.e, NULL, &r), SFSM_OK);
        assert_int_equal(sfsm_report_row_count(r), N + 2);   /* + (mei, CNY), (ravi, CNY) */
        int64_t won[2] = { 0 }, got[2] = { 0 };
        for (int row = 0; row < N; row++) {
            const char *id = sfsm_report_text(r, (size_t)row, 0);
            assert_non_null(id);
            assert_string_equal(id, sorted[row]);
            int i = 0;
            while (strcmp(ids[i], id) != 0)
                i++;
            assert_string_equal(sfsm_report_text(r, (size_t)row, 1), i % 3 ? "ravi" : "mei");
            assert_int_equal(sfsm_report_int(r, (size_t)row, 3), 1000 + i);
            assert_int_equal(sfsm_report_int(r, (size_t)row, 4), i % 2 ? i : 0);
            assert_int_equal(sfsm_report_int(r, (size_t)row, 5), 1000 + i - (i % 2 ? i : 0));
            assert_int_equal(sfsm_report_int(r, (size_t)row, 6), T0_MS - (20 + i % 7) * DAY_MS);
            assert_int_equal(sfsm_report_int(r, (size_t)row, 7), (20 + i % 7) * DAY_MS);
            won[i % 3 ? 1 : 0] += 1000 + i;
        }
        for (int k = 0; k < 2; k++) {
            assert_true(sfsm_report_is_null(r, (size_t)(N + k), 0));
            assert_string_equal(sfsm_report_text(r, (size_t)(N + k), 1), k ? "ravi" : "mei");
            got[k] = sfsm_report_int(r, (size_t)(N + k), 3);
        }
        assert_int_equal(got[0], won[0]);
        assert_int_equal(got[1], won[1]);
        sfsm_report_free(r);
        world_close(&w);
    }
    tb_free(&t);
}

/* A won opportunity without an amount has a null currency in its row and in
 * its sum row. */
static void test_receivables_without_currency(void **state)
{
    (void)state;
    tb t = { 0 };
    tb_rec *r = tb_add(&t, "B-2", "ravi", NULL, 0, NULL, T0_MS - 30 * DAY_MS);
    tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 10 * DAY_MS);
    r = tb_add(&t, "B-1", "ravi", "acme", 50, "CNY", T0_MS - 30 * DAY_MS);
    tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 9 * DAY_MS);
    world w;
    world_open(&w, &t, OPS_V3);
    sfsm_report *rep = NULL;
    assert_int_equal(sfsm_report_receivables(w.e, NULL, &rep), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(rep), 4);
    assert_string_equal(sfsm_report_text(rep, 0, 0), "B-1");
    assert_string_equal(sfsm_report_text(rep, 0, 2), "CNY");
    assert_string_equal(sfsm_report_text(rep, 1, 0), "B-2");
    assert_true(sfsm_report_is_null(rep, 1, 2));
    assert_int_equal(sfsm_report_int(rep, 1, 3), 0);
    assert_true(sfsm_report_is_null(rep, 1, 7));   /* nothing outstanding */
    /* sums: null currency first */
    assert_true(sfsm_report_is_null(rep, 2, 0));
    assert_true(sfsm_report_is_null(rep, 2, 2));
    assert_string_equal(sfsm_report_text(rep, 3, 2), "CNY");
    assert_int_equal(sfsm_report_int(rep, 3, 5), 50);
    sfsm_report_free(rep);
    world_close(&w);
    tb_free(&t);
}

/* Stale rows of the same stage entry time are ordered by id. */
static void test_stale_ties_by_id(void **state)
{
    (void)state;
    enum { N = 40 };
    char ids[N][SFSM_MAX_ID + 1];
    tb t = { 0 };
    uint32_t seed = 99;
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%s-%u", i % 2 ? "same-prefix-that-is-longer-than-eight" : "s",
                 (unsigned)(lcg(&seed) % 100000) * 100 + (unsigned)i);
        tb_add(&t, ids[i], "ravi", "acme", 10, "CNY", T0_MS - (30 + i % 3) * DAY_MS);
    }
    world w;
    world_open(&w, &t, OPS_V3);
    sfsm_report *r = NULL;
    assert_int_equal(sfsm_report_stale(w.e, NULL, &r), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(r), N);
    /* expected: oldest entry first, then by id */
    for (int d = 2, row = 0; d >= 0; d--) {
        const char *group[N];
        int n = 0;
        for (int i = 0; i < N; i++)
            if (i % 3 == d)
                group[n++] = ids[i];
        qsort(group, (size_t)n, sizeof *group, cmp_str);
        for (int k = 0; k < n; k++, row++) {
            assert_string_equal(sfsm_report_text(r, (size_t)row, 0), group[k]);
            assert_int_equal(sfsm_report_int(r, (size_t)row, 4), T0_MS - (30 + d) * DAY_MS);
        }
    }
    sfsm_report_free(r);
    world_close(&w);
    tb_free(&t);
}

/* Many (stage, currency) groups and many distinct names: the pipeline
 * report's groups and the loader's strings outgrow their first tables. */
static void test_many_groups(void **state)
{
    (void)state;
    enum { N = 700, NCUR = 6 };
    static const char *const cur[NCUR] = { "AUD", "CNY", "EUR", "GBP", "JPY", "USD" };
    tb t = { 0 };
    int64_t want_amount[8][NCUR] = { { 0 } };
    int64_t want_count[8][NCUR] = { { 0 } };
    for (int i = 0; i < N; i++) {
        char id[16], cust[32], owner[32];
        snprintf(id, sizeof id, "G-%04d", i);
        snprintf(cust, sizeof cust, "customer %d", i);
        snprintf(owner, sizeof owner, "owner %d", i % 97);
        tb_rec *r = tb_add(&t, id, owner, cust, 10 + i, cur[i % NCUR], T0_MS - 100 * DAY_MS);
        int stage = (i / NCUR) % 8;
        for (int s = 1; s <= stage && s < 7; s++)
            tb_move(r, SFSM_HISTORY_TRANSITION, WALK[s], T0_MS - (90 - s) * DAY_MS);
        if (stage == 7)
            tb_move(r, SFSM_HISTORY_TRANSITION, "lost", T0_MS - 50 * DAY_MS);
        want_amount[stage][i % NCUR] += 10 + i;
        want_count[stage][i % NCUR]++;
    }
    world w;
    world_open(&w, &t, OPS_V3);
    sfsm_report *r = NULL;
    assert_int_equal(sfsm_report_pipeline(w.e, NULL, &r), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(r), 8 * NCUR);
    static const char *const stage_names[8] = { "lead", "qualified", "quoted", "negotiating",
                                                "signed", "delivered", "serviced", "lost" };
    for (int s = 0; s < 8; s++)
        for (int c = 0; c < NCUR; c++) {
            size_t row = (size_t)(s * NCUR + c);
            assert_string_equal(sfsm_report_text(r, row, 0), stage_names[s]);
            assert_string_equal(sfsm_report_text(r, row, 1), cur[c]);
            assert_int_equal(sfsm_report_int(r, row, 2), want_count[s][c]);
            assert_int_equal(sfsm_report_int(r, row, 3), want_amount[s][c]);
        }
    sfsm_report_free(r);
    /* every customer name is kept apart: one of them, as filter */
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    f.customer = "customer 613";
    f.as_of_ms = T0_MS;
    assert_int_equal(sfsm_report_pipeline(w.e, &f, &r), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(sfsm_report_int(r, 0, 3), 10 + 613);
    sfsm_report_free(r);
    world_close(&w);
    tb_free(&t);
}

/* ---- the table: accessors and JSON ---- */

static void test_table_accessors(void **state)
{
    (void)state;
    tb t = { 0 };
    tb_rec *x = tb_add(&t, "T-1", "ravi", "acme", 70, "CNY", T0_MS - 30 * DAY_MS);
    tb_move(x, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 10 * DAY_MS);
    world w;
    world_open(&w, &t, OPS_V3);
    sfsm_report *r = NULL;
    assert_int_equal(sfsm_report_receivables(w.e, NULL, &r), SFSM_OK);
    assert_string_equal(sfsm_report_name(r), "receivables");
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_int_equal(sfsm_report_column_count(r), 8);
    assert_string_equal(sfsm_report_column_name(r, 7), "outstanding_ms");
    assert_null(sfsm_report_column_name(r, 8));

    assert_null(sfsm_report_name(NULL));
    assert_int_equal(sfsm_report_row_count(NULL), 0);
    assert_int_equal(sfsm_report_column_count(NULL), 0);
    assert_null(sfsm_report_column_name(NULL, 0));

    size_t col = 42;
    assert_int_equal(sfsm_report_column(r, "won_ms", &col), SFSM_OK);
    assert_int_equal(col, 6);
    col = 42;
    assert_int_equal(sfsm_report_column(NULL, "won", &col), SFSM_EINVAL);
    assert_msg_has("sfsm_report_column: report is NULL");
    assert_int_equal(sfsm_report_column(r, NULL, &col), SFSM_EINVAL);
    assert_msg_has("sfsm_report_column: name is NULL");
    assert_int_equal(sfsm_report_column(r, "won", NULL), SFSM_EINVAL);
    assert_msg_has("sfsm_report_column: col is NULL");
    assert_int_equal(sfsm_report_column(r, "profit", &col), SFSM_ENOTFOUND);
    assert_msg_has("report 'receivables' has no column 'profit'");
    assert_int_equal(col, 42);

    /* cells: text, integer, null, and out of range */
    assert_string_equal(sfsm_report_text(r, 0, 0), "T-1");
    assert_int_equal(sfsm_report_int(r, 0, 0), 0);          /* text, read as integer */
    assert_int_equal(sfsm_report_int(r, 0, 3), 70);
    assert_null(sfsm_report_text(r, 0, 3));                 /* integer, read as text */
    assert_false(sfsm_report_is_null(r, 0, 3));
    assert_true(sfsm_report_is_null(r, 1, 0));              /* the sum row's id */
    assert_null(sfsm_report_text(r, 1, 0));
    assert_int_equal(sfsm_report_int(r, 1, 6), 0);
    assert_true(sfsm_report_is_null(r, 2, 0));              /* no row 2 */
    assert_null(sfsm_report_text(r, 2, 0));
    assert_int_equal(sfsm_report_int(r, 2, 3), 0);
    assert_true(sfsm_report_is_null(r, 0, 8));              /* no column 8 */
    assert_null(sfsm_report_text(r, 0, 8));
    assert_int_equal(sfsm_report_int(r, 0, 8), 0);
    assert_true(sfsm_report_is_null(NULL, 0, 0));
    assert_null(sfsm_report_text(NULL, 0, 0));
    assert_int_equal(sfsm_report_int(NULL, 0, 3), 0);

    char *json = (char *)1;
    size_t len = 99;
    assert_int_equal(sfsm_report_to_json(NULL, &json, &len), SFSM_EINVAL);
    assert_msg_has("sfsm_report_to_json: report is NULL");
    assert_null(json);
    assert_int_equal(len, 0);
    len = 99;
    assert_int_equal(sfsm_report_to_json(r, NULL, &len), SFSM_EINVAL);
    assert_msg_has("sfsm_report_to_json: out is NULL");
    assert_int_equal(len, 0);
    assert_int_equal(sfsm_report_to_json(r, &json, NULL), SFSM_OK);
    assert_non_null(json);
    sfsm_free(json);

    assert_int_equal(sfsm_report_filter_init(NULL, SFSM_REPORT_FILTER_VERSION), SFSM_EINVAL);
    assert_msg_has("sfsm_report_filter_init: filter is NULL");
    sfsm_report_filter f;
    assert_int_equal(sfsm_report_filter_init(&f, SFSM_REPORT_FILTER_VERSION + 1), SFSM_EVERSION);
    assert_msg_has("version 2 unknown");
    assert_int_equal(sfsm_report_filter_init(&f, SFSM_REPORT_FILTER_VERSION), SFSM_OK);
    assert_int_equal(f.version, SFSM_REPORT_FILTER_VERSION);
    assert_null(f.owner);
    assert_int_equal(f.as_of_ms, 0);

    sfsm_report_free(r);
    sfsm_report_free(NULL);
    world_close(&w);
    tb_free(&t);
}

/* A minimal JSON reader, independent of the library's writer: enough to
 * read a report back (strings with every escape, integers, null, arrays,
 * objects with the three members in order). */
typedef struct jr {
    const char *p;
} jr;

static void jr_ws(jr *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static void jr_expect(jr *j, char c)
{
    jr_ws(j);
    if (*j->p != c)
        fail_msg("JSON: expected '%c' at \"%.20s\"", c, j->p);
    j->p++;
}

static unsigned jr_hex4(jr *j)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *j->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else fail_msg("JSON: bad \\u escape");
    }
    return v;
}

/* Reads a string into out (UTF-8). */
static void jr_string(jr *j, char *out, size_t size)
{
    size_t n = 0;
    jr_expect(j, '"');
    for (;;) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            fail_msg("JSON: raw control character 0x%02x in a string", c);
        if (c == '\\') {
            char e = *j->p++;
            unsigned cp;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': cp = jr_hex4(j); break;
            default: fail_msg("JSON: bad escape \\%c", e); return;
            }
            if (cp >= 0xd800 && cp < 0xdc00) {
                assert_true(j->p[0] == '\\' && j->p[1] == 'u');
                j->p += 2;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (jr_hex4(j) - 0xdc00);
            }
            assert_true(n + 4 < size);
            if (cp < 0x80) {
                out[n++] = (char)cp;
            } else if (cp < 0x800) {
                out[n++] = (char)(0xc0 | cp >> 6);
                out[n++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                out[n++] = (char)(0xe0 | cp >> 12);
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                out[n++] = (char)(0xf0 | cp >> 18);
                out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[n++] = (char)(0x80 | (cp & 0x3f));
            }
            continue;
        }
        assert_true(n + 1 < size);
        out[n++] = (char)c;
    }
    out[n] = '\0';
}

/* Checks that json is exactly report r. */
static void assert_json_is_report(const char *json, const sfsm_report *r)
{
    jr j = { json };
    char s[1024];
    jr_expect(&j, '{');
    jr_string(&j, s, sizeof s);
    assert_string_equal(s, "report");
    jr_expect(&j, ':');
    jr_string(&j, s, sizeof s);
    assert_string_equal(s, sfsm_report_name(r));
    jr_expect(&j, ',');
    jr_string(&j, s, sizeof s);
    assert_string_equal(s, "columns");
    jr_expect(&j, ':');
    jr_expect(&j, '[');
    for (size_t c = 0; c < sfsm_report_column_count(r); c++) {
        if (c)
            jr_expect(&j, ',');
        jr_string(&j, s, sizeof s);
        assert_string_equal(s, sfsm_report_column_name(r, c));
    }
    jr_expect(&j, ']');
    jr_expect(&j, ',');
    jr_string(&j, s, sizeof s);
    assert_string_equal(s, "rows");
    jr_expect(&j, ':');
    jr_expect(&j, '[');
    for (size_t row = 0; row < sfsm_report_row_count(r); row++) {
        if (row)
            jr_expect(&j, ',');
        jr_expect(&j, '[');
        for (size_t c = 0; c < sfsm_report_column_count(r); c++) {
            if (c)
                jr_expect(&j, ',');
            jr_ws(&j);
            if (sfsm_report_is_null(r, row, c)) {
                assert_int_equal(strncmp(j.p, "null", 4), 0);
                j.p += 4;
            } else if (sfsm_report_text(r, row, c)) {
                jr_string(&j, s, sizeof s);
                assert_string_equal(s, sfsm_report_text(r, row, c));
            } else {
                char *end;
                long long v = strtoll(j.p, &end, 10);
                assert_true(end > j.p);
                assert_int_equal(v, sfsm_report_int(r, row, c));
                j.p = end;
            }
        }
        jr_expect(&j, ']');
    }
    jr_expect(&j, ']');
    jr_expect(&j, '}');
    assert_int_equal(*j.p, '\0');
}

static void test_to_json_escaping(void **state)
{
    (void)state;
    tb t = { 0 };
    static const char *const names[] = {
        "quote \" and backslash \\ and slash /",
        "controls \b\f\n\r\t \x01\x1f \x7f end",
        "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
        "plain",
    };
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof id, "id\"%d\\", i);
        tb_rec *r = tb_add(&t, id, names[i], names[(i + 1) % 4], 100 + i, i % 2 ? "CNY" : "USD",
                           T0_MS - 30 * DAY_MS);
        tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 10 * DAY_MS);
    }
    world w;
    world_open(&w, &t, OPS_V3);
    for (size_t i = 0; i < NREPORTS; i++) {
        sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
        f.from_ms = Y2025_FROM;
        f.to_ms = Y2026_FROM;
        sfsm_report *r = NULL;
        int rc = REPORTS[i].fn(w.e, &f, &r);
        if (rc != SFSM_OK)
            fail_msg("%s: rc %d: %s", REPORTS[i].name, rc, sfsm_errmsg());
        char *json = NULL;
        size_t len = 0;
        assert_int_equal(sfsm_report_to_json(r, &json, &len), SFSM_OK);
        assert_int_equal(len, strlen(json));
        assert_json_is_report(json, r);
        sfsm_free(json);
        sfsm_report_free(r);
    }
    sfsm_report *r = NULL;
    assert_int_equal(sfsm_report_stale(w.e, NULL, &r), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(r), 0);   /* won: none stale; the empty table too */
    char *json = NULL;
    assert_int_equal(sfsm_report_to_json(r, &json, NULL), SFSM_OK);
    assert_json_is_report(json, r);
    sfsm_free(json);
    sfsm_report_free(r);
    assert_int_equal(sfsm_report_receivables(w.e, NULL, &r), SFSM_OK);
    assert_int_equal(sfsm_report_row_count(r), 4 + 4);
    assert_string_equal(sfsm_report_text(r, 0, 1), names[0]);
    sfsm_report_free(r);
    world_close(&w);
    tb_free(&t);
}

/* ---- out of memory at every allocation ---- */

/* Fails each allocation of the report in turn, then each of its JSON form:
 * SFSM_ENOMEM saying so, *out NULL, nothing leaked; a hint that could not
 * be had may leave the report done all the same. */
static void oom_run(world *w, report_fn fn, const sfsm_report_filter *f, const char *what)
{
    failalloc_install();
    sfsm_report *done = NULL;
    for (long n = 1; !done; n++) {
        long live = failalloc_live();
        failalloc_arm(n);
        sfsm_report *r = (sfsm_report *)(void *)w;
        int rc = fn(w->e, f, &r);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (rc == SFSM_OK) {
            if (!failed)
                done = r;
            else
                sfsm_report_free(r);
        } else {
            if (rc != SFSM_ENOMEM || !failed)
                fail_msg("%s: allocation #%ld: rc %d (%s)", what, n, rc, sfsm_errmsg());
            assert_msg_has("out of memory");
            assert_null(r);
        }
        if (!done && failalloc_live() != live)
            fail_msg("%s: allocation #%ld: %ld blocks leaked", what, n, failalloc_live() - live);
    }
    for (long n = 1;; n++) {
        long live = failalloc_live();
        failalloc_arm(n);
        char *json = (char *)(void *)w;
        int rc = sfsm_report_to_json(done, &json, NULL);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (!failed) {
            assert_int_equal(rc, SFSM_OK);
            sfsm_free(json);
            break;
        }
        assert_int_equal(rc, SFSM_ENOMEM);
        assert_msg_has("out of memory writing report");
        assert_null(json);
        assert_int_equal(failalloc_live(), live);
    }
    sfsm_report_free(done);
    failalloc_uninstall();
}

static void test_out_of_memory(void **state)
{
    (void)state;
    tb t = { 0 };
    demo_facts facts;
    tb_demo(&t, &facts);
    /* changes read as of: the create entry's, with escapes */
    t.r[1]->h[0].changes = "{\"amount\":5,\"currency\":\"CNY\",\"owner\":\"o\\u00e9\",\"customer\":\"c\\n\","
                           "\"title\":\"t\",\"attrs\":{\"k\":[1]}}";
    world w[3];
    world_open(&w[0], &t, OPS_V3);
    world_open(&w[1], &t, OPS_V3_NO_HSCAN);
    world_open(&w[2], &t, OPS_V3);
    for (int k = 0; k < 3; k++) {
        t.hs_reverse = k == 2;
        for (size_t i = 0; i < NREPORTS; i++)
            for (int fk = 0; fk < NFILTERS; fk++) {
                if (k && fk != 1 && fk != 5)
                    continue;   /* the other paths: as_of, team */
                sfsm_report_filter f = demo_filter(fk);
                char what[64];
                snprintf(what, sizeof what, "%s[ops %d, filter %d]", REPORTS[i].name, k, fk);
                oom_run(&w[k], REPORTS[i].fn, &f, what);
            }
    }
    for (int k = 0; k < 3; k++)
        world_close(&w[k]);
    tb_free(&t);

    /* the receivables' sort and the stale report's ties */
    tb u = { 0 };
    for (int i = 0; i < 30; i++) {
        char id[SFSM_MAX_ID + 1];
        snprintf(id, sizeof id, "ACME-CORPORATION-FRAMEWORK-AGREEMENT-LOT-000000000000000000000000-%d", (i * 11) % 30);
        tb_rec *r = tb_add(&u, id, "ravi", "acme", 10 + i, "CNY", T0_MS - 40 * DAY_MS);
        if (i % 2)
            tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 20 * DAY_MS);
    }
    u.pays[u.npays++] = (tb_pay){ "NOPE", 1, 5, T0_MS - DAY_MS };   /* of no opportunity loaded */
    world v;
    world_open(&v, &u, OPS_V3);
    oom_run(&v, sfsm_report_receivables, NULL, "receivables by id");
    oom_run(&v, sfsm_report_stale, NULL, "stale ties");
    world_close(&v);
    tb_free(&u);

    /* the as-of reader, decoding escapes and a long value (its buffer grows) */
    static char changes[700];
    char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    snprintf(changes, sizeof changes,
             "{\"amount\":5,\"currency\":\"CNY\",\"owner\":\"o\\u00e9\\n\",\"customer\":\"%s\","
             "\"title\":\"t\",\"attrs\":{\"k\":\"v\"}}",
             long_name);
    tb a = { 0 };
    as_of_world(&a, changes);
    for (int ops = OPS_V3; ops <= OPS_V3_NO_HSCAN; ops++) {
        world x;
        world_open(&x, &a, ops);
        sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
        f.as_of_ms = T0_MS - 20 * DAY_MS;
        oom_run(&x, sfsm_report_stale, &f, "stale as of");
        oom_run(&x, sfsm_report_pipeline, &f, "pipeline as of");
        world_close(&x);
    }
    tb_free(&a);
}

/* Payments summed past int64 (only a corrupt store holds such): EINVAL. */
static void test_payments_overflow(void **state)
{
    (void)state;
    tb t = { 0 };
    const int64_t max = (INT64_C(1) << 53) - 1;   /* the largest amount there is */
    tb_rec *r = tb_add(&t, "P-1", "ravi", "acme", max, "CNY", T0_MS - 30 * DAY_MS);
    tb_move(r, SFSM_HISTORY_TRANSITION, "signed", T0_MS - 20 * DAY_MS);
    /* 1025 of them pass INT64_MAX; the last one comes after as_of below */
    for (int i = 0; i < 1025; i++)
        t.pays[t.npays++] = (tb_pay){ "P-1", (uint64_t)i + 1, max, T0_MS - (i < 1024 ? 10 : 5) * DAY_MS };
    world w;
    world_open(&w, &t, OPS_V3);
    sfsm_report *out = (sfsm_report *)(void *)&t;
    /* loaded, its payments are more than its amount long before they overflow */
    assert_int_equal(sfsm_report_receivables(w.e, NULL, &out), SFSM_ESTORAGE);
    assert_null(out);
    assert_msg_has("stored opportunity 'P-1': payments: 18014398509481982 collected, more than its amount");
    /* not loaded (another owner's), they are only summed: the overflow */
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    f.owner = "mei";
    int rc = sfsm_report_receivables(w.e, &f, &out);
    if (rc != SFSM_EINVAL)
        fail_msg("rc %d: %s", rc, sfsm_errmsg());
    assert_null(out);
    assert_msg_has("report 'receivables': the sum of payments overflows int64");
    /* as of before the last payment (an as_of report loads every record):
     * still more than its amount, never a negative outstanding */
    f.as_of_ms = T0_MS - 7 * DAY_MS;
    assert_int_equal(sfsm_report_receivables(w.e, &f, &out), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'P-1': payments:");
    world_close(&w);
    tb_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_paths_agree),
        cmocka_unit_test(test_old_store),
        cmocka_unit_test(test_backend_failures),
        cmocka_unit_test(test_missing_ids),
        cmocka_unit_test(test_history_entry_without_id),
        cmocka_unit_test(test_changes_reader_valid),
        cmocka_unit_test(test_changes_reader_invalid),
        cmocka_unit_test(test_receivables_order_by_id),
        cmocka_unit_test(test_receivables_without_currency),
        cmocka_unit_test(test_stale_ties_by_id),
        cmocka_unit_test(test_many_groups),
        cmocka_unit_test(test_table_accessors),
        cmocka_unit_test(test_to_json_escaping),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_payments_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
