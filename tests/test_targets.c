/* Teams, targets and payments (targets.h), on the memory and the SQLite
 * store (ctest runs this suite both ways). */
#include <stdio.h>

#include <salesfsm/sys/store.h>

#include "testutil.h"

/* ---- listing into strings ---- */

typedef struct text {
    char s[16384];
    size_t n;
} text;

static void text_add(text *t, const char *fmt, ...) SFSM_PRINTF(2, 3);
static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    va_end(ap);
    assert_true(w >= 0 && (size_t)w < sizeof t->s - t->n);
    t->n += (size_t)w;
}

static int team_cb(const char *owner, const char *team, void *ud)
{
    text_add(ud, "%s:%s;", team, owner);
    return 0;
}

static int target_cb(const sfsm_target *t, void *ud)
{
    text_add(ud, "%d:%s:%d:%d:%d:%s:%lld;", (int)t->subject_kind, t->subject, t->period.year, (int)t->period.kind,
             t->period.index, t->currency, (long long)t->amount);
    return 0;
}

static int payment_cb(const sfsm_payment *p, void *ud)
{
    text_add(ud, "%s#%llu:%lld:%s:%lld:%s;", p->opp_id, (unsigned long long)p->seq, (long long)p->amount,
             p->currency, (long long)p->at_ms, p->note ? p->note : "(null)");
    return 0;
}

static const char *teams(fixture *f, const char *team)
{
    static text t;
    t.n = 0;
    t.s[0] = '\0';
    int rc = sfsm_team_list(f->engine, team, team_cb, &t);
    if (rc)
        fail_msg("sfsm_team_list: %s", sfsm_errmsg());
    return t.s;
}

static const char *targets(fixture *f, sfsm_subject_kind kind, const char *subject, int year)
{
    static text t;
    t.n = 0;
    t.s[0] = '\0';
    int rc = sfsm_target_list(f->engine, kind, subject, year, target_cb, &t);
    if (rc)
        fail_msg("sfsm_target_list: %s", sfsm_errmsg());
    return t.s;
}

static const char *payments(fixture *f, const char *opp_id)
{
    static text t;
    t.n = 0;
    t.s[0] = '\0';
    int rc = sfsm_payment_list(f->engine, opp_id, payment_cb, &t);
    if (rc)
        fail_msg("sfsm_payment_list: %s", sfsm_errmsg());
    return t.s;
}

/* Everything this area stores, as one string (free with free()). */
static char *dump(fixture *f)
{
    text *t = calloc(1, sizeof *t);
    assert_non_null(t);
    text_add(t, "teams[%s]", teams(f, NULL));
    text_add(t, "targets[%s]", targets(f, SFSM_SUBJECT_OWNER, NULL, 0));
    text_add(t, "payments[%s]", payments(f, NULL));
    char *s = malloc(t->n + 1);
    assert_non_null(s);
    memcpy(s, t->s, t->n + 1);
    free(t);
    return s;
}

#define EXPECT_FAIL(call, code, needle)                                                        \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != (code))                                                                     \
            fail_msg("%s returned %d (%s), expected %s", #call, rc_, rc_ ? sfsm_errmsg() : "", #code); \
        assert_msg_has(needle);                                                                \
    } while (0)

#define EXPECT_OK(call)                                                                        \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != SFSM_OK)                                                                    \
            fail_msg("%s returned %d (%s)", #call, rc_, sfsm_errmsg());                        \
    } while (0)

static sfsm_target target(sfsm_subject_kind kind, const char *subject, int year, sfsm_period_kind pk, int index,
                          int64_t amount, const char *currency)
{
    sfsm_target t = { kind, subject, { year, pk, index }, amount, currency };
    return t;
}

static sfsm_target annual(const char *subject, int year, int64_t amount)
{
    return target(SFSM_SUBJECT_OWNER, subject, year, SFSM_PERIOD_YEAR, 1, amount, "CNY");
}

/* ---- periods ---- */

#define YEAR2027_MS INT64_C(1798761600000) /* 2027-01-01T00:00:00Z */

static void bounds_ok(int year, sfsm_period_kind kind, int index, int64_t from, int64_t to)
{
    sfsm_period p = { year, kind, index };
    int64_t a = -1, b = -1;
    EXPECT_OK(sfsm_period_bounds(&p, &a, &b));
    if (a != from || b != to)
        fail_msg("%d/%d/%d: [%lld, %lld), expected [%lld, %lld)", year, (int)kind, index, (long long)a,
                 (long long)b, (long long)from, (long long)to);
}

static void bounds_bad(int year, int kind, int index, const char *needle)
{
    sfsm_period p = { year, (sfsm_period_kind)kind, index };
    int64_t a = 7, b = 7;
    EXPECT_FAIL(sfsm_period_bounds(&p, &a, &b), SFSM_EINVAL, needle);
}

static int week_count(int year)
{
    sfsm_period p = { year, SFSM_PERIOD_WEEK, 53 };
    int64_t a, b;
    return sfsm_period_bounds(&p, &a, &b) == SFSM_OK ? 53 : 52;
}

static void test_period_bounds(void **state)
{
    (void)state;
    bounds_ok(2026, SFSM_PERIOD_YEAR, 1, T0_MS, YEAR2027_MS);
    bounds_ok(2026, SFSM_PERIOD_QUARTER, 1, T0_MS, T0_MS + 90 * DAY_MS);
    bounds_ok(2026, SFSM_PERIOD_QUARTER, 4, T0_MS + 273 * DAY_MS, YEAR2027_MS);
    bounds_ok(2026, SFSM_PERIOD_MONTH, 1, T0_MS, T0_MS + 31 * DAY_MS);
    bounds_ok(2026, SFSM_PERIOD_MONTH, 2, T0_MS + 31 * DAY_MS, T0_MS + 59 * DAY_MS);
    bounds_ok(2024, SFSM_PERIOD_MONTH, 2, INT64_C(1706745600000), INT64_C(1706745600000) + 29 * DAY_MS);
    bounds_ok(2026, SFSM_PERIOD_MONTH, 12, YEAR2027_MS - 31 * DAY_MS, YEAR2027_MS);
    /* 2026-01-01 is a Thursday: ISO week 1 starts on Monday 2025-12-29, and
     * 2026 has 53 weeks, the last ending on Monday 2027-01-04 */
    bounds_ok(2026, SFSM_PERIOD_WEEK, 1, T0_MS - 3 * DAY_MS, T0_MS + 4 * DAY_MS);
    bounds_ok(2026, SFSM_PERIOD_WEEK, 53, YEAR2027_MS - 4 * DAY_MS, YEAR2027_MS + 3 * DAY_MS);
    bounds_ok(2027, SFSM_PERIOD_WEEK, 1, YEAR2027_MS + 3 * DAY_MS, YEAR2027_MS + 10 * DAY_MS);
    bounds_ok(1970, SFSM_PERIOD_YEAR, 1, 0, 365 * DAY_MS);
    bounds_ok(1970, SFSM_PERIOD_WEEK, 1, -3 * DAY_MS, 4 * DAY_MS);
    bounds_ok(9999, SFSM_PERIOD_MONTH, 12, INT64_C(253399622400000), INT64_C(253402300800000));
    /* the weeks of a year tile it without gaps */
    for (int year = 2025; year <= 2028; year++) {
        int n = week_count(year);
        int64_t prev_end = 0;
        for (int w = 1; w <= n; w++) {
            sfsm_period p = { year, SFSM_PERIOD_WEEK, w };
            int64_t a, b;
            EXPECT_OK(sfsm_period_bounds(&p, &a, &b));
            assert_int_equal(b - a, 7 * DAY_MS);
            assert_int_equal(((a / DAY_MS) % 7 + 7 + 3) % 7, 0); /* a Monday */
            if (w > 1)
                assert_int_equal(a, prev_end);
            prev_end = b;
        }
        sfsm_period next = { year + 1, SFSM_PERIOD_WEEK, 1 };
        int64_t a, b;
        EXPECT_OK(sfsm_period_bounds(&next, &a, &b));
        assert_int_equal(a, prev_end);
    }
    assert_int_equal(week_count(2015), 53);
    assert_int_equal(week_count(2020), 53);
    assert_int_equal(week_count(2021), 52);
    assert_int_equal(week_count(2026), 53);
    assert_int_equal(week_count(2027), 52);

    bounds_bad(1969, SFSM_PERIOD_YEAR, 1, "period.year");
    bounds_bad(10000, SFSM_PERIOD_YEAR, 1, "period.year");
    bounds_bad(2026, 0, 1, "period.kind");
    bounds_bad(2026, 5, 1, "period.kind");
    bounds_bad(2026, SFSM_PERIOD_YEAR, 2, "period.index");
    bounds_bad(2026, SFSM_PERIOD_QUARTER, 0, "period.index");
    bounds_bad(2026, SFSM_PERIOD_QUARTER, 5, "period.index");
    bounds_bad(2026, SFSM_PERIOD_MONTH, 13, "period.index");
    bounds_bad(2027, SFSM_PERIOD_WEEK, 53, "period.index");
    bounds_bad(2026, SFSM_PERIOD_WEEK, 54, "period.index");
    sfsm_period p = { 2026, SFSM_PERIOD_YEAR, 1 };
    int64_t a, b;
    EXPECT_FAIL(sfsm_period_bounds(NULL, &a, &b), SFSM_EINVAL, "period");
    EXPECT_FAIL(sfsm_period_bounds(&p, NULL, &b), SFSM_EINVAL, "from_ms");
    EXPECT_FAIL(sfsm_period_bounds(&p, &a, NULL), SFSM_EINVAL, "to_ms");
}

/* ---- teams ---- */

static void test_teams(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    assert_string_equal(teams(f, NULL), "");
    EXPECT_OK(sfsm_team_set(e, "ravi", "north"));
    EXPECT_OK(sfsm_team_set(e, "anna", "south"));
    EXPECT_OK(sfsm_team_set(e, "zoe", "north"));
    EXPECT_OK(sfsm_team_set(e, "bob", "north"));
    EXPECT_OK(sfsm_team_set(e, "李娜", "east"));
    assert_string_equal(teams(f, NULL), "east:李娜;north:bob;north:ravi;north:zoe;south:anna;");
    assert_string_equal(teams(f, "north"), "north:bob;north:ravi;north:zoe;");
    assert_string_equal(teams(f, "nobody"), "");
    /* an owner is in one team at most: setting again moves it */
    EXPECT_OK(sfsm_team_set(e, "ravi", "south"));
    EXPECT_OK(sfsm_team_set(e, "bob", "north")); /* unchanged */
    assert_string_equal(teams(f, NULL), "east:李娜;north:bob;north:zoe;south:anna;south:ravi;");
    EXPECT_OK(sfsm_team_set(e, "zoe", NULL));
    assert_string_equal(teams(f, NULL), "east:李娜;north:bob;south:anna;south:ravi;");

    char *before = dump(f);
    EXPECT_FAIL(sfsm_team_set(e, "zoe", NULL), SFSM_ENOTFOUND, "zoe");
    EXPECT_FAIL(sfsm_team_set(e, "nobody", NULL), SFSM_ENOTFOUND, "in no team");
    EXPECT_FAIL(sfsm_team_set(e, NULL, "north"), SFSM_EINVAL, "owner");
    EXPECT_FAIL(sfsm_team_set(e, "", "north"), SFSM_EINVAL, "owner");
    EXPECT_FAIL(sfsm_team_set(e, "bad\xff", "north"), SFSM_EINVAL, "owner");
    EXPECT_FAIL(sfsm_team_set(e, "ravi", ""), SFSM_EINVAL, "team");
    EXPECT_FAIL(sfsm_team_set(e, "ravi", "bad\xc3"), SFSM_EINVAL, "team");
    char long_name[SFSM_MAX_NAME + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    EXPECT_FAIL(sfsm_team_set(e, "ravi", long_name), SFSM_EINVAL, "team");
    EXPECT_FAIL(sfsm_team_set(NULL, "ravi", "north"), SFSM_EINVAL, "engine");
    EXPECT_FAIL(sfsm_team_list(e, NULL, NULL, NULL), SFSM_EINVAL, "cb");
    EXPECT_FAIL(sfsm_team_list(e, "", team_cb, NULL), SFSM_EINVAL, "team");
    EXPECT_FAIL(sfsm_team_list(NULL, NULL, team_cb, NULL), SFSM_EINVAL, "engine");
    assert_same_and_free(dump(f), before);
    free(before);
}

/* ---- targets ---- */

static void test_target_set_replace_list(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_target t = target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_QUARTER, 2, 3000000, "CNY");
    EXPECT_OK(sfsm_target_set(e, &t));
    t.amount = 3500000; /* same key: replaced */
    EXPECT_OK(sfsm_target_set(e, &t));
    t.currency = "EUR"; /* another currency: a target of its own */
    t.amount = 400000;
    EXPECT_OK(sfsm_target_set(e, &t));
    sfsm_target more[] = {
        target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_QUARTER, 1, 2000000, "CNY"),
        target(SFSM_SUBJECT_OWNER, "ravi", 2025, SFSM_PERIOD_YEAR, 1, 9000000, "CNY"),
        target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_MONTH, 1, 0, "CNY"), /* zero is allowed */
        target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_WEEK, 53, 1, "CNY"),
        target(SFSM_SUBJECT_OWNER, "anna", 2026, SFSM_PERIOD_YEAR, 1, 5, "CNY"),
        target(SFSM_SUBJECT_TEAM, "north", 2026, SFSM_PERIOD_YEAR, 1, 7, "CNY"),
        target(SFSM_SUBJECT_TEAM, "anna", 2026, SFSM_PERIOD_YEAR, 1, 8, "CNY"),
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        EXPECT_OK(sfsm_target_set(e, &more[i]));
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, NULL, 0),
                        "1:anna:2026:1:1:CNY:5;"
                        "1:ravi:2025:1:1:CNY:9000000;"
                        "1:ravi:2026:2:1:CNY:2000000;"
                        "1:ravi:2026:2:2:CNY:3500000;"
                        "1:ravi:2026:2:2:EUR:400000;"
                        "1:ravi:2026:3:1:CNY:0;"
                        "1:ravi:2026:4:53:CNY:1;"
                        "2:anna:2026:1:1:CNY:8;"
                        "2:north:2026:1:1:CNY:7;");
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, "ravi", 2025), "1:ravi:2025:1:1:CNY:9000000;");
    assert_string_equal(targets(f, SFSM_SUBJECT_TEAM, "anna", 0), "2:anna:2026:1:1:CNY:8;");
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, "anna", 2026), "1:anna:2026:1:1:CNY:5;");
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, "nobody", 0), "");
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, NULL, 2025), "1:ravi:2025:1:1:CNY:9000000;");
    assert_string_equal(targets(f, SFSM_SUBJECT_OWNER, NULL, 2030), "");

    char *before = dump(f);
    sfsm_target bad = t;
    bad.subject_kind = (sfsm_subject_kind)3;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "subject_kind");
    bad = t;
    bad.subject = NULL;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "subject");
    bad.subject = "";
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "subject");
    bad = t;
    bad.amount = -1;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "amount");
    bad = t;
    bad.currency = "eur";
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "currency");
    bad.currency = NULL;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "currency");
    /* named printably, as a stored one is: a terminal sees no escape */
    bad.currency = "\x1b]0;";
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "currency: '\\x1b]0;' is not an ISO 4217 code");
    bad = t;
    bad.period.year = 1969;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "period.year");
    bad.period.year = 10000;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "period.year");
    bad = t;
    bad.period.kind = (sfsm_period_kind)9;
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "period.kind");
    bad = target(SFSM_SUBJECT_OWNER, "ravi", 2027, SFSM_PERIOD_WEEK, 53, 1, "CNY");
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "period.index");
    bad = target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_MONTH, 0, 1, "CNY");
    EXPECT_FAIL(sfsm_target_set(e, &bad), SFSM_EINVAL, "period.index");
    EXPECT_FAIL(sfsm_target_set(e, NULL), SFSM_EINVAL, "target");
    EXPECT_FAIL(sfsm_target_set(NULL, &t), SFSM_EINVAL, "engine");
    EXPECT_FAIL(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, NULL, NULL), SFSM_EINVAL, "cb");
    EXPECT_FAIL(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 1969, target_cb, NULL), SFSM_EINVAL, "year");
    EXPECT_FAIL(sfsm_target_list(e, (sfsm_subject_kind)0, "ravi", 0, target_cb, NULL), SFSM_EINVAL, "subject_kind");
    EXPECT_FAIL(sfsm_target_list(e, SFSM_SUBJECT_OWNER, "", 0, target_cb, NULL), SFSM_EINVAL, "subject");
    assert_same_and_free(dump(f), before);
    free(before);
}

/* Parts of one subject/year/kind, in index order. */
typedef struct parts {
    sfsm_period_kind kind;
    int64_t v[60];
    int n;
    int64_t annual;
    int annuals;
} parts;

static int parts_cb(const sfsm_target *t, void *ud)
{
    parts *p = ud;
    if (t->period.kind == SFSM_PERIOD_YEAR) {
        p->annual = t->amount;
        p->annuals++;
    } else if (t->period.kind == p->kind) {
        assert_int_equal(t->period.index, p->n + 1);
        p->v[p->n++] = t->amount;
    }
    return 0;
}

static parts read_parts(fixture *f, const char *subject, int year, sfsm_period_kind kind)
{
    parts p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    EXPECT_OK(sfsm_target_list(f->engine, SFSM_SUBJECT_OWNER, subject, year, parts_cb, &p));
    return p;
}

/* The parts add up exactly, and an even split differs by at most one unit,
 * the larger parts first. */
static void check_even(const parts *p, int n, int64_t amount)
{
    assert_int_equal(p->n, n);
    assert_int_equal(p->annuals, 1);
    assert_int_equal(p->annual, amount);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        sum += p->v[i];
        int64_t base = amount / n, extra = amount % n;
        assert_int_equal(p->v[i], base + (i < extra ? 1 : 0));
    }
    assert_int_equal(sum, amount);
}

static void test_split_even(void **state)
{
    fixture *f = *state;
    /* 1 000 000.01 */
    sfsm_target a = annual("ravi", 2026, 100000001);
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, NULL, 0));
    parts p = read_parts(f, "ravi", 2026, SFSM_PERIOD_QUARTER);
    check_even(&p, 4, 100000001);
    assert_int_equal(p.v[0], 25000001);
    assert_int_equal(p.v[3], 25000000);

    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_MONTH, NULL, 0));
    p = read_parts(f, "ravi", 2026, SFSM_PERIOD_MONTH);
    check_even(&p, 12, 100000001);
    assert_int_equal(p.v[4], 8333334); /* remainder 5: months 1..5 get one more */
    assert_int_equal(p.v[5], 8333333);

    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_WEEK, NULL, 0));
    p = read_parts(f, "ravi", 2026, SFSM_PERIOD_WEEK);
    check_even(&p, 53, 100000001);

    sfsm_target b = annual("ravi", 2027, 100000001);
    EXPECT_OK(sfsm_target_split(f->engine, &b, SFSM_PERIOD_WEEK, NULL, 0));
    p = read_parts(f, "ravi", 2027, SFSM_PERIOD_WEEK);
    check_even(&p, 52, 100000001);

    /* splitting again replaces the annual target and every part */
    a.amount = 7;
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, NULL, 0));
    p = read_parts(f, "ravi", 2026, SFSM_PERIOD_QUARTER);
    check_even(&p, 4, 7);
    assert_int_equal(p.v[0], 2);
    assert_int_equal(p.v[3], 1);
    /* zero splits into zeros */
    a.amount = 0;
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_MONTH, NULL, 0));
    p = read_parts(f, "ravi", 2026, SFSM_PERIOD_MONTH);
    check_even(&p, 12, 0);
    /* team targets split alike */
    sfsm_target t = target(SFSM_SUBJECT_TEAM, "north", 2026, SFSM_PERIOD_YEAR, 1, 10, "EUR");
    EXPECT_OK(sfsm_target_split(f->engine, &t, SFSM_PERIOD_QUARTER, NULL, 0));
    assert_string_equal(targets(f, SFSM_SUBJECT_TEAM, "north", 0),
                        "2:north:2026:1:1:EUR:10;2:north:2026:2:1:EUR:3;2:north:2026:2:2:EUR:3;"
                        "2:north:2026:2:3:EUR:2;2:north:2026:2:4:EUR:2;");
}

static void test_split_weights(void **state)
{
    fixture *f = *state;
    sfsm_target a = annual("anna", 2026, 100000001);
    const uint32_t q[4] = { 1, 2, 3, 4 };
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, q, 4));
    parts p = read_parts(f, "anna", 2026, SFSM_PERIOD_QUARTER);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.v[0], 10000001);
    assert_int_equal(p.v[1], 20000000);
    assert_int_equal(p.v[2], 30000000);
    assert_int_equal(p.v[3], 40000000);

    /* zero weights: the remainder still goes to the earliest parts */
    const uint32_t z[4] = { 0, 0, 3, 0 };
    a.amount = 10;
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, z, 4));
    p = read_parts(f, "anna", 2026, SFSM_PERIOD_QUARTER);
    assert_int_equal(p.v[0], 0);
    assert_int_equal(p.v[1], 0);
    assert_int_equal(p.v[2], 10);
    assert_int_equal(p.v[3], 0);
    const uint32_t thirds[4] = { 1, 1, 1, 0 };
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, thirds, 4));
    p = read_parts(f, "anna", 2026, SFSM_PERIOD_QUARTER);
    assert_int_equal(p.v[0], 4);
    assert_int_equal(p.v[1], 3);
    assert_int_equal(p.v[2], 3);
    assert_int_equal(p.v[3], 0);
    /* a part weighted 0 stays 0 even when it comes first */
    const uint32_t late[4] = { 0, 1, 1, 1 };
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_QUARTER, late, 4));
    p = read_parts(f, "anna", 2026, SFSM_PERIOD_QUARTER);
    assert_int_equal(p.v[0], 0);
    assert_int_equal(p.v[1], 4);
    assert_int_equal(p.v[2], 3);
    assert_int_equal(p.v[3], 3);

    /* months by a seasonal profile, an amount near INT64_MAX and the largest
     * weights: exact, no overflow */
    uint32_t m[12];
    for (int i = 0; i < 12; i++)
        m[i] = i % 2 ? UINT32_MAX : UINT32_MAX - 12345 * (uint32_t)i;
    a.amount = INT64_MAX;
    EXPECT_OK(sfsm_target_split(f->engine, &a, SFSM_PERIOD_MONTH, m, 12));
    p = read_parts(f, "anna", 2026, SFSM_PERIOD_MONTH);
    assert_int_equal(p.n, 12);
    uint64_t sum_w = 0;
    for (int i = 0; i < 12; i++)
        sum_w += m[i];
    int64_t total = 0;
    uint64_t floors = 0;
#ifdef __SIZEOF_INT128__
    unsigned __int128 fl[12];
    for (int i = 0; i < 12; i++) {
        fl[i] = (unsigned __int128)(uint64_t)INT64_MAX * m[i] / sum_w;
        floors += (uint64_t)fl[i];
    }
    uint64_t rem = (uint64_t)INT64_MAX - floors;
    for (int i = 0; i < 12; i++)
        assert_true((uint64_t)p.v[i] == (uint64_t)fl[i] + ((uint64_t)i < rem ? 1 : 0));
#endif
    for (int i = 0; i < 12; i++) {
        assert_true(p.v[i] >= 0);
        assert_true(total <= INT64_MAX - p.v[i]);
        total += p.v[i];
    }
    assert_int_equal(total, INT64_MAX);

    /* ISO weeks of 2026 (53) and 2027 (52) */
    uint32_t w[53];
    for (int i = 0; i < 53; i++)
        w[i] = (uint32_t)(i % 4 == 3 ? 2 : 1);
    sfsm_target b = annual("anna", 2026, 99999);
    EXPECT_OK(sfsm_target_split(f->engine, &b, SFSM_PERIOD_WEEK, w, 53));
    p = read_parts(f, "anna", 2026, SFSM_PERIOD_WEEK);
    assert_int_equal(p.n, 53);
    total = 0;
    for (int i = 0; i < 53; i++)
        total += p.v[i];
    assert_int_equal(total, 99999);
    b.period.year = 2027;
    EXPECT_FAIL(sfsm_target_split(f->engine, &b, SFSM_PERIOD_WEEK, w, 53), SFSM_EINVAL, "weights");
    EXPECT_OK(sfsm_target_split(f->engine, &b, SFSM_PERIOD_WEEK, w, 52));
    p = read_parts(f, "anna", 2027, SFSM_PERIOD_WEEK);
    assert_int_equal(p.n, 52);
    total = 0;
    for (int i = 0; i < 52; i++)
        total += p.v[i];
    assert_int_equal(total, 99999);
}

static void test_split_errors(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_target a = annual("ravi", 2026, 1000);
    EXPECT_OK(sfsm_target_split(e, &a, SFSM_PERIOD_QUARTER, NULL, 0));
    char *before = dump(f);
    const uint32_t four[4] = { 1, 1, 1, 1 }, zeros[12] = { 0 };
    uint32_t w52[52];
    for (int i = 0; i < 52; i++)
        w52[i] = 1;
    EXPECT_FAIL(sfsm_target_split(e, &a, SFSM_PERIOD_YEAR, NULL, 0), SFSM_EINVAL, "into");
    EXPECT_FAIL(sfsm_target_split(e, &a, (sfsm_period_kind)7, NULL, 0), SFSM_EINVAL, "into");
    EXPECT_FAIL(sfsm_target_split(e, &a, SFSM_PERIOD_MONTH, four, 4), SFSM_EINVAL, "weights");
    EXPECT_FAIL(sfsm_target_split(e, &a, SFSM_PERIOD_MONTH, zeros, 12), SFSM_EINVAL, "weights");
    EXPECT_FAIL(sfsm_target_split(e, &a, SFSM_PERIOD_WEEK, w52, 52), SFSM_EINVAL, "weights"); /* 2026: 53 */
    sfsm_target q = target(SFSM_SUBJECT_OWNER, "ravi", 2026, SFSM_PERIOD_QUARTER, 1, 10, "CNY");
    EXPECT_FAIL(sfsm_target_split(e, &q, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "period.kind");
    sfsm_target bad = a;
    bad.amount = -1;
    EXPECT_FAIL(sfsm_target_split(e, &bad, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "amount");
    bad = a;
    bad.currency = "CN";
    EXPECT_FAIL(sfsm_target_split(e, &bad, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "currency");
    bad = a;
    bad.subject = "";
    EXPECT_FAIL(sfsm_target_split(e, &bad, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "subject");
    bad = a;
    bad.period.year = 1900;
    EXPECT_FAIL(sfsm_target_split(e, &bad, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "period.year");
    EXPECT_FAIL(sfsm_target_split(e, NULL, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "target");
    EXPECT_FAIL(sfsm_target_split(NULL, &a, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EINVAL, "engine");
    assert_same_and_free(dump(f), before);
    free(before);
}

/* A split that fails half-way (an allocation fails) stores nothing: the
 * annual target and all parts are one transaction. */
static void test_split_is_atomic(void **state)
{
    (void)state;
    failalloc_install();
    fixture *f = fixture_new();
    sfsm_target old = annual("ravi", 2026, 530);
    EXPECT_OK(sfsm_target_split(f->engine, &old, SFSM_PERIOD_WEEK, NULL, 0));
    char *before = dump(f);
    sfsm_target other = annual("zoe", 2026, 100000001);
    int done = 0, failures = 0;
    for (long n = 1; n < 100000 && !done; n++) {
        failalloc_arm(n);
        int rc = sfsm_target_split(f->engine, &other, SFSM_PERIOD_WEEK, NULL, 0);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (rc == SFSM_OK) {
            done = 1;
        } else {
            if (!failed)
                fail_msg("split failed without an allocation failure: %s", sfsm_errmsg());
            assert_true(rc == SFSM_ENOMEM || rc == SFSM_ESTORAGE);
            assert_same_and_free(dump(f), before);
            failures++;
        }
    }
    assert_true(done);
    if (!f->path[0]) /* the memory store allocates through the library's allocator */
        assert_true(failures >= 1);
    free(before);
    fixture_free(f);
    assert_int_equal(failalloc_live(), 0);
    failalloc_uninstall();
}

/* ---- payments ---- */

static sfsm_opp *won(fixture *f, const char *id)
{
    return fixture_opp(f, id, "qualify", "quote", "negotiate", "sign", NULL);
}

static void test_payments(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *z = won(f, "zz-first"); /* created first: listed first */
    sfsm_opp *a = won(f, "aa-second");
    f->now = T0_MS + 5 * DAY_MS;
    EXPECT_OK(sfsm_payment_add(e, "aa-second", 500000, "CNY", "deposit 定金"));
    f->now += DAY_MS;
    EXPECT_OK(sfsm_payment_add(e, "zz-first", 1200000, "CNY", NULL));
    /* a delivered opportunity is still won */
    assert_int_equal(sfsm_fire(e, a, "deliver", &MANAGER, NULL), SFSM_OK);
    f->now += DAY_MS;
    EXPECT_OK(sfsm_payment_add(e, "aa-second", 699999, "CNY", ""));
    char expect[512];
    snprintf(expect, sizeof expect, "zz-first#1:1200000:CNY:%lld:(null);",
             (long long)(T0_MS + 6 * DAY_MS));
    assert_string_equal(payments(f, "zz-first"), expect);
    snprintf(expect, sizeof expect,
             "zz-first#1:1200000:CNY:%lld:(null);aa-second#1:500000:CNY:%lld:deposit 定金;aa-second#2:699999:CNY:%lld:;",
             (long long)(T0_MS + 6 * DAY_MS), (long long)(T0_MS + 5 * DAY_MS), (long long)(T0_MS + 7 * DAY_MS));
    assert_string_equal(payments(f, NULL), expect);
    assert_string_equal(payments(f, "no-such"), "");

    char *before = dump(f);
    /* fully paid: not one unit more */
    EXPECT_FAIL(sfsm_payment_add(e, "zz-first", 1, "CNY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_FAIL(sfsm_payment_add(e, "aa-second", 2, "CNY", NULL), SFSM_EINVAL, "amount");
    EXPECT_OK(sfsm_payment_add(e, "aa-second", 1, "CNY", "rest")); /* exactly the amount */
    assert_non_null(strstr(payments(f, "aa-second"), "aa-second#3:1:CNY:1767830400000:rest;"));
    free(before);
    before = dump(f);
    EXPECT_FAIL(sfsm_payment_add(e, "aa-second", 1, "CNY", NULL), SFSM_EINVAL, "outstanding");
    sfsm_opp *lead = fixture_opp(f, "a-lead", NULL);
    sfsm_opp *neg = fixture_opp(f, "a-negotiating", "qualify", "quote", "negotiate", NULL);
    sfsm_opp *lost = fixture_opp(f, "a-lost", "lose", NULL);
    sfsm_opp *c = won(f, "c");
    free(before);
    before = dump(f);
    EXPECT_FAIL(sfsm_payment_add(e, "a-lead", 100, "CNY", NULL), SFSM_EINVAL, "not won");
    EXPECT_FAIL(sfsm_payment_add(e, "a-negotiating", 100, "CNY", NULL), SFSM_EINVAL, "not won");
    EXPECT_FAIL(sfsm_payment_add(e, "a-lost", 100, "CNY", NULL), SFSM_EINVAL, "not won");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 100, "EUR", NULL), SFSM_EINVAL, "currency");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 100, "cny", NULL), SFSM_EINVAL, "currency");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 100, NULL, NULL), SFSM_EINVAL, "currency");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 0, "CNY", NULL), SFSM_EINVAL, "amount");
    EXPECT_FAIL(sfsm_payment_add(e, "c", -5, "CNY", NULL), SFSM_EINVAL, "amount");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 1200001, "CNY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_FAIL(sfsm_payment_add(e, "c", INT64_MAX, "CNY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_FAIL(sfsm_payment_add(e, "c", 100, "CNY", "bad\xff"), SFSM_EINVAL, "note");
    EXPECT_FAIL(sfsm_payment_add(e, "nope", 100, "CNY", NULL), SFSM_ENOTFOUND, "nope");
    EXPECT_FAIL(sfsm_payment_add(e, "", 100, "CNY", NULL), SFSM_EINVAL, "opp_id");
    EXPECT_FAIL(sfsm_payment_add(e, NULL, 100, "CNY", NULL), SFSM_EINVAL, "opp_id");
    EXPECT_FAIL(sfsm_payment_add(NULL, "c", 100, "CNY", NULL), SFSM_EINVAL, "engine");
    EXPECT_FAIL(sfsm_payment_list(e, NULL, NULL, NULL), SFSM_EINVAL, "cb");
    EXPECT_FAIL(sfsm_payment_list(e, "", payment_cb, NULL), SFSM_EINVAL, "opp_id");
    assert_same_and_free(dump(f), before);
    free(before);
    sfsm_opp_free(lead);
    sfsm_opp_free(neg);
    sfsm_opp_free(lost);
    sfsm_opp_free(c);
    sfsm_opp_free(a);
    sfsm_opp_free(z);
}

static void test_payment_big_amounts(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "huge";
    opts.customer = "Acme";
    opts.amount = INT64_C(9007199254740991);   /* 2^53 - 1, the largest amount there is */
    opts.currency = "JPY";
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_OK);
    const char *walk[] = { "qualify", "quote", "negotiate", "sign" };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sfsm_fire(e, o, walk[i], &MANAGER, NULL), SFSM_OK);
    EXPECT_OK(sfsm_payment_add(e, "huge", INT64_C(9007199254740991) - 1, "JPY", NULL));
    EXPECT_FAIL(sfsm_payment_add(e, "huge", 2, "JPY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_FAIL(sfsm_payment_add(e, "huge", INT64_MAX, "JPY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_OK(sfsm_payment_add(e, "huge", 1, "JPY", NULL));
    EXPECT_FAIL(sfsm_payment_add(e, "huge", 1, "JPY", NULL), SFSM_EINVAL, "outstanding");
    assert_int_equal(strlen(payments(f, "huge")) > 0, 1);
    sfsm_opp_free(o);
}

/* The stored amount and currency of opportunity id, as "CNY:1200000", and its version. */
static char *stored_amount(fixture *f, const char *id, char out[64])
{
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, id, &o), SFSM_OK);
    snprintf(out, 64, "%s:%lld v%llu", sfsm_opp_currency(o), (long long)sfsm_opp_amount(o),
             (unsigned long long)sfsm_opp_version(o));
    sfsm_opp_free(o);
    return out;
}

/* A deal with payments keeps its currency and at least what was collected:
 * otherwise its stored payments would read as damage (SFSM_ESTORAGE). */
static void test_amount_of_a_paid_deal(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *paid = won(f, "paid");
    sfsm_opp *unpaid = won(f, "unpaid");
    EXPECT_OK(sfsm_payment_add(e, "paid", 400000, "CNY", NULL));
    char kept[96];
    snprintf(kept, sizeof kept, "paid#1:400000:CNY:%lld:(null);", (long long)f->now);
    char *before = dump(f), was[64], now[64];
    stored_amount(f, "paid", was);

    EXPECT_OK(sfsm_opp_set_amount(paid, 1200000, "USD"));
    EXPECT_FAIL(sfsm_opp_save(e, paid), SFSM_EINVAL, "can no longer change");
    assert_msg_has("'paid'");
    EXPECT_OK(sfsm_opp_set_amount(paid, 399999, "CNY"));
    EXPECT_FAIL(sfsm_opp_save(e, paid), SFSM_EINVAL, "less than the 400000 CNY already collected");
    EXPECT_FAIL(sfsm_fire(e, paid, "deliver", &MANAGER, NULL), SFSM_EINVAL, "already collected");
    /* inside a batch alike */
    EXPECT_OK(sfsm_engine_begin(e));
    EXPECT_FAIL(sfsm_opp_save(e, paid), SFSM_EINVAL, "already collected");
    EXPECT_OK(sfsm_engine_rollback(e));
    assert_string_equal(stored_amount(f, "paid", now), was);
    assert_same_and_free(dump(f), before);

    /* what the payments allow */
    EXPECT_OK(sfsm_opp_set_amount(paid, 400000, "CNY"));
    EXPECT_OK(sfsm_opp_save(e, paid));
    EXPECT_OK(sfsm_opp_set_amount(unpaid, 500, "USD"));   /* no payments: free to change */
    EXPECT_OK(sfsm_opp_save(e, unpaid));
    assert_string_equal(payments(f, "paid"), kept);   /* still readable, not damage */
    sfsm_opp_free(paid);
    sfsm_opp_free(unpaid);
    free(before);
}

/* ---- transactions, batches, hooks, re-entry ---- */

static void test_batch_rollback_and_commit(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = won(f, "w");
    char *before = dump(f);
    EXPECT_OK(sfsm_engine_begin(e));
    EXPECT_OK(sfsm_team_set(e, "ravi", "north"));
    sfsm_target a = annual("ravi", 2026, 1200);
    EXPECT_OK(sfsm_target_split(e, &a, SFSM_PERIOD_MONTH, NULL, 0));
    EXPECT_OK(sfsm_payment_add(e, "w", 1000, "CNY", NULL));
    /* inside the batch, the earlier payment counts */
    EXPECT_FAIL(sfsm_payment_add(e, "w", 1200000, "CNY", NULL), SFSM_EINVAL, "outstanding");
    EXPECT_OK(sfsm_payment_add(e, "w", 2000, "CNY", NULL));
    assert_int_equal(strstr(payments(f, "w"), "w#2:2000") != NULL, 1);
    EXPECT_OK(sfsm_engine_rollback(e));
    assert_same_and_free(dump(f), before);

    EXPECT_OK(sfsm_engine_begin(e));
    EXPECT_OK(sfsm_team_set(e, "ravi", "north"));
    EXPECT_OK(sfsm_payment_add(e, "w", 1000, "CNY", NULL));
    EXPECT_OK(sfsm_engine_commit(e));
    assert_string_equal(teams(f, NULL), "north:ravi;");
    assert_int_equal(strstr(payments(f, "w"), "w#1:1000:CNY") != NULL, 1);
    free(before);
    sfsm_opp_free(o);
}

typedef struct reenter {
    fixture *f;
    int rc[4];
    int calls;
} reenter;

static int team_reenter(const char *owner, const char *team, void *ud)
{
    (void)owner;
    (void)team;
    reenter *r = ud;
    sfsm_target t = annual("x", 2026, 1);
    r->rc[0] = sfsm_team_set(r->f->engine, "someone", "north");
    r->rc[1] = sfsm_target_set(r->f->engine, &t);
    r->rc[2] = sfsm_payment_add(r->f->engine, "w", 1, "CNY", NULL);
    r->rc[3] = sfsm_team_list(r->f->engine, NULL, team_cb, NULL);
    r->calls++;
    return 0;
}

static int target_stop(const sfsm_target *t, void *ud)
{
    (void)t;
    ++*(int *)ud;
    return 42;
}

static int payment_reenter(const sfsm_payment *p, void *ud)
{
    (void)p;
    reenter *r = ud;
    r->rc[0] = sfsm_payment_add(r->f->engine, "w", 1, "CNY", NULL);
    r->calls++;
    return 0;
}

static void pay_on_sign(const sfsm_transition *t, void *ud)
{
    reenter *r = ud;
    r->rc[0] = sfsm_payment_add(r->f->engine, t->opp_id, 100, "CNY", "deposit");
    r->calls++;
}

static void test_reentry_and_hooks(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = won(f, "w");
    EXPECT_OK(sfsm_team_set(e, "ravi", "north"));
    EXPECT_OK(sfsm_payment_add(e, "w", 1, "CNY", NULL));
    char *before = dump(f);
    reenter r = { f, { 0, 0, 0, 0 }, 0 };
    EXPECT_OK(sfsm_team_list(e, NULL, team_reenter, &r));
    assert_int_equal(r.calls, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.rc[i], SFSM_EBUSY);
    memset(&r.rc, 0, sizeof r.rc);
    EXPECT_OK(sfsm_payment_list(e, NULL, payment_reenter, &r));
    assert_int_equal(r.rc[0], SFSM_EBUSY);
    assert_same_and_free(dump(f), before);
    free(before);
    /* a non-zero callback return stops the listing and is handed back */
    sfsm_target t = annual("ravi", 2026, 12);
    EXPECT_OK(sfsm_target_split(e, &t, SFSM_PERIOD_QUARTER, NULL, 0));
    int seen = 0;
    assert_int_equal(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, target_stop, &seen), 42);
    assert_int_equal(seen, 1);

    /* a hook may record a payment: the deposit on signing */
    reenter h = { f, { -1, 0, 0, 0 }, 0 };
    assert_int_equal(sfsm_engine_on_enter(e, "signed", pay_on_sign, &h), SFSM_OK);
    sfsm_opp *d = won(f, "deposit");
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.rc[0], SFSM_OK);
    assert_int_equal(strstr(payments(f, "deposit"), "deposit#1:100:CNY") != NULL, 1);
    sfsm_opp_free(d);
    sfsm_opp_free(o);
}

/* ---- a version-2 backend ---- */

static int v2_ok(void *b)
{
    (void)b;
    return SFSM_OK;
}

static int v2_get(void *b, const char *id, sfsm_record *out)
{
    (void)b;
    (void)out;
    return sfsm_error_set(SFSM_ENOTFOUND, "'%s' not found", id);
}

static int v2_put(void *b, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    (void)b;
    (void)r;
    (void)expected;
    (void)changed;
    return SFSM_OK;
}

static int v2_append(void *b, const char *id, const sfsm_history_entry *h)
{
    (void)b;
    (void)id;
    (void)h;
    return SFSM_OK;
}

static int v2_read(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    (void)b;
    (void)cb;
    (void)ud;
    return sfsm_error_set(SFSM_ENOTFOUND, "'%s' not found", id);
}

static int v2_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    (void)b;
    (void)f;
    (void)cb;
    (void)ud;
    return SFSM_OK;
}

static const sfsm_store_ops V2_OPS = {
    .version = 2, .begin = v2_ok, .commit = v2_ok, .rollback = v2_ok, .get = v2_get, .put = v2_put,
    .append_history = v2_append, .read_history = v2_read, .scan = v2_scan,
};

static void test_v2_backend_is_eversion(void **state)
{
    (void)state;
    static int backend;
    sfsm_store *s = NULL;
    sfsm_pipeline *p = NULL;
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_store_new(&s, &V2_OPS, &backend), SFSM_OK);
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    sfsm_target t = annual("ravi", 2026, 100);
    EXPECT_FAIL(sfsm_team_set(e, "ravi", "north"), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_team_list(e, NULL, team_cb, NULL), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_target_set(e, &t), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_target_split(e, &t, SFSM_PERIOD_MONTH, NULL, 0), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, target_cb, NULL), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_payment_add(e, "x", 1, "CNY", NULL), SFSM_EVERSION, "version 2");
    EXPECT_FAIL(sfsm_payment_list(e, NULL, payment_cb, NULL), SFSM_EVERSION, "version 2");
    /* periods need no store */
    sfsm_period per = { 2026, SFSM_PERIOD_MONTH, 3 };
    int64_t a, b;
    EXPECT_OK(sfsm_period_bounds(&per, &a, &b));
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_bounds),
        cmocka_unit_test_setup_teardown(test_teams, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_target_set_replace_list, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_split_even, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_split_weights, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_split_errors, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_split_is_atomic),
        cmocka_unit_test_setup_teardown(test_payments, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_payment_big_amounts, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_amount_of_a_paid_deal, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_rollback_and_commit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reentry_and_hooks, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_v2_backend_is_eversion),
    };
    return cmocka_run_group_tests_name("targets", tests, NULL, NULL);
}
