/*
 * Reports on hostile data: an injected clock at the ends of int64 or behind
 * the data, stored times, amounts, texts and history entries a corrupt
 * store or a buggy backend hands back (tamper.h), and the JSON of a report.
 * The rule: a clear error or a correct answer, never a negative duration, a
 * wrapped sum, invalid JSON or a silently wrong number. Run on the memory
 * store and (SFSM_TEST_STORE=sqlite) on SQLite; also under ASan+UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <salesfsm/salesfsm.h>

#include "report_impl.h"
#include "safe_int.h"
#include "tamper.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define Q1_TO (T0 + 90 * DAY)     /* 2026-04-01 */

static const sfsm_actor MGR = { "Mei", "manager" };

typedef struct fx {
    sfsm_pipeline *p;
    sfsm_store *s;
    sfsm_engine *e;
    int64_t now;
} fx;

static int64_t clock_of(void *ud)
{
    return ((fx *)ud)->now;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now = T0;
    assert_int_equal(sfsm_pipeline_default(&f->p), SFSM_OK);
    f->s = tamper_open();
    assert_int_equal(sfsm_engine_new(&f->e, f->p, f->s), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(f->e, clock_of, f), SFSM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    sfsm_engine_free(f->e);
    tamper_close(f->s);
    sfsm_pipeline_free(f->p);
    free(f);
    return 0;
}

/* Creates opportunity id at time at, then fires the events (NULL-ended) a
 * day apart. */
static void mk(fx *f, const char *id, int64_t at, int64_t amount, ...)
{
    sfsm_create_options o = SFSM_CREATE_OPTIONS_INIT;
    o.id = id;
    o.customer = "Acme";
    o.owner = "ravi";
    o.amount = amount;
    o.currency = amount ? "CNY" : NULL;
    o.expected_close_ms = T0 + 30 * DAY;
    f->now = at;
    sfsm_opp *h = NULL;
    int rc = sfsm_opp_create_ext(f->e, &o, &h);
    if (rc)
        fail_msg("create %s: %s", id, sfsm_errmsg());
    va_list ap;
    va_start(ap, amount);
    const char *ev;
    while ((ev = va_arg(ap, const char *)) != NULL) {
        f->now += DAY;
        if ((rc = sfsm_fire(f->e, h, ev, &MGR, strcmp(ev, "lose") == 0 ? "price" : NULL)))
            fail_msg("fire %s on %s: %s", ev, id, sfsm_errmsg());
    }
    va_end(ap);
    sfsm_opp_free(h);
}

#define WON "qualify", "quote", "negotiate", "sign"

enum { R_PIPELINE, R_FORECAST, R_FUNNEL, R_WIN_RATE, R_VELOCITY, R_STALE, R_CALIBRATION, R_ATTAINMENT,
       R_RECEIVABLES, R_COUNT };
static const char *const rname[R_COUNT] = { "pipeline", "forecast", "funnel", "win_rate", "velocity",
                                            "stale", "calibration", "attainment", "receivables" };

/* Runs report k with filter base (the period Q1 2026 for the two that need
 * one, when base has none). */
static int run(fx *f, int k, const sfsm_report_filter *base, sfsm_report **out)
{
    sfsm_report_filter flt = *base;
    if ((k == R_FORECAST || k == R_ATTAINMENT) && !flt.from_ms && !flt.to_ms) {
        flt.from_ms = T0;
        flt.to_ms = Q1_TO;
    }
    *out = (sfsm_report *)f;   /* must become NULL on failure */
    switch (k) {
    case R_PIPELINE: return sfsm_report_pipeline(f->e, &flt, out);
    case R_FORECAST: return sfsm_report_forecast(f->e, &flt, out);
    case R_FUNNEL: return sfsm_report_funnel(f->e, &flt, out);
    case R_WIN_RATE: return sfsm_report_win_rate(f->e, &flt, out);
    case R_VELOCITY: return sfsm_report_velocity(f->e, &flt, out);
    case R_STALE: return sfsm_report_stale(f->e, &flt, out);
    case R_CALIBRATION: return sfsm_report_calibration(f->e, &flt, out);
    case R_ATTAINMENT: return sfsm_report_attainment(f->e, &flt, out);
    default: return sfsm_report_receivables(f->e, &flt, out);
    }
}

/* Report k must fail with rc, leaving *out NULL, and a message naming each
 * of the NULL-terminated needles. */
static void expect_fail(fx *f, int k, const sfsm_report_filter *flt, int rc, ...)
{
    sfsm_report *r;
    int got = run(f, k, flt, &r);
    if (got != rc)
        fail_msg("report %s: expected %s, got %s (%s)", rname[k], sfsm_strerror(rc), sfsm_strerror(got),
                 got ? sfsm_errmsg() : "a table");
    assert_null(r);
    va_list ap;
    va_start(ap, rc);
    const char *needle;
    while ((needle = va_arg(ap, const char *)) != NULL)
        if (!strstr(sfsm_errmsg(), needle))
            fail_msg("report %s: message \"%s\" does not name \"%s\"", rname[k], sfsm_errmsg(), needle);
    va_end(ap);
}

static sfsm_report *expect_ok(fx *f, int k, const sfsm_report_filter *flt)
{
    sfsm_report *r;
    int rc = run(f, k, flt, &r);
    if (rc)
        fail_msg("report %s: %s: %s", rname[k], sfsm_strerror(rc), sfsm_errmsg());
    return r;
}

/* The row whose column `key` is the text `val`, or SIZE_MAX. */
static size_t row_of(const sfsm_report *r, const char *key, const char *val)
{
    size_t c;
    assert_int_equal(sfsm_report_column(r, key, &c), SFSM_OK);
    for (size_t i = 0; i < sfsm_report_row_count(r); i++) {
        const char *t = sfsm_report_text(r, i, c);
        if (t && strcmp(t, val) == 0)
            return i;
    }
    return SIZE_MAX;
}

static int64_t cell(const sfsm_report *r, size_t row, const char *colname, int *is_null)
{
    size_t c;
    assert_int_equal(sfsm_report_column(r, colname, &c), SFSM_OK);
    *is_null = sfsm_report_is_null(r, row, c);
    return sfsm_report_int(r, row, c);
}

/* No integer cell of a duration column (…_ms but not a stored time, days)
 * is negative. */
static void no_negative_duration(const sfsm_report *r)
{
    static const char *const cols[] = { "avg_ms", "median_ms", "outstanding_ms", "days_in_stage" };
    for (size_t k = 0; k < 4; k++) {
        size_t c;
        if (sfsm_report_column(r, cols[k], &c) != SFSM_OK)
            continue;
        for (size_t i = 0; i < sfsm_report_row_count(r); i++)
            if (sfsm_report_int(r, i, c) < 0)
                fail_msg("report %s row %zu: %s is %lld", sfsm_report_name(r), i, cols[k],
                         (long long)sfsm_report_int(r, i, c));
    }
}

/* ---- the clock at the ends of int64 ---- */

/* A deal won in 1969, unpaid, and one open since then: with the clock at
 * INT64_MAX the time outstanding and the time in stage do not fit in int64:
 * SFSM_EINVAL naming the opportunity, in release and sanitizer builds
 * alike (was: a negative outstanding_ms, or the stale deal left out). The
 * same through as_of. Everything else still reports. */
static void test_clock_far_ahead(void **state)
{
    fx *f = *state;
    mk(f, "old-won", -400 * DAY, 500000, WON, NULL);
    mk(f, "old-open", -400 * DAY, 700000, "qualify", NULL);
    f->now = INT64_MAX;
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    expect_fail(f, R_RECEIVABLES, &none, SFSM_EINVAL, "old-won", "overflows", NULL);
    expect_fail(f, R_STALE, &none, SFSM_EINVAL, "old-open", "overflows", NULL);
    sfsm_report_filter late = SFSM_REPORT_FILTER_INIT;
    late.as_of_ms = INT64_MAX;
    f->now = T0;
    expect_fail(f, R_RECEIVABLES, &late, SFSM_EINVAL, "old-won", NULL);
    expect_fail(f, R_STALE, &late, SFSM_EINVAL, "old-open", NULL);
    /* the others do not subtract the clock */
    f->now = INT64_MAX;
    for (int k = 0; k < R_COUNT; k++)
        if (k != R_RECEIVABLES && k != R_STALE) {
            sfsm_report *r = expect_ok(f, k, &none);
            no_negative_duration(r);
            sfsm_report_free(r);
        }
}

/* The clock at INT64_MIN is far behind every time stored: nothing is
 * outstanding for any time, nothing stale (was: INT64_MIN - won_ms, which
 * wraps). */
static void test_clock_far_behind(void **state)
{
    fx *f = *state;
    mk(f, "w", T0, 500000, WON, NULL);
    mk(f, "open", T0 - 200 * DAY, 700000, NULL);
    f->now = INT64_MIN;
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = expect_ok(f, R_RECEIVABLES, &none);
    size_t row = row_of(r, "id", "w");
    assert_true(row != SIZE_MAX);
    int is_null;
    assert_int_equal(cell(r, row, "outstanding_ms", &is_null), 0);
    assert_false(is_null);
    sfsm_report_free(r);
    r = expect_ok(f, R_STALE, &none);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
}

/* A clock behind the data (now before a won time, a stage entry, a
 * creation): a duration whose end precedes its start counts as 0 — zero ms
 * outstanding, not stale — and never as a negative number. */
static void test_clock_behind(void **state)
{
    fx *f = *state;
    mk(f, "w", T0, 500000, WON, NULL);              /* won at T0 + 4 days */
    mk(f, "lead", T0 - 100 * DAY, 300000, NULL);   /* in lead since T0 - 100 days */
    f->now = T0 + 2 * DAY;   /* behind w's won time; lead: 102 days, stale */
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = expect_ok(f, R_RECEIVABLES, &none);
    size_t row = row_of(r, "id", "w");
    assert_true(row != SIZE_MAX);
    int is_null;
    assert_int_equal(cell(r, row, "won_ms", &is_null), T0 + 4 * DAY);
    assert_int_equal(cell(r, row, "outstanding_ms", &is_null), 0);
    assert_false(is_null);
    assert_int_equal(cell(r, row, "outstanding", &is_null), 500000);
    sfsm_report_free(r);
    r = expect_ok(f, R_STALE, &none);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_true(row_of(r, "id", "lead") == 0);
    assert_int_equal(cell(r, 0, "days_in_stage", &is_null), 102);
    sfsm_report_free(r);
    /* behind the lead's entry too: not stale (0 days) */
    f->now = T0 - 101 * DAY;
    r = expect_ok(f, R_STALE, &none);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    r = expect_ok(f, R_RECEIVABLES, &none);
    assert_int_equal(cell(r, row_of(r, "id", "w"), "outstanding_ms", &is_null), 0);
    sfsm_report_free(r);
}

/* Entries stamped out of order (servers with skewed clocks: a stay that
 * ends before it starts, a deal won before it was created): 0 ms, not a
 * negative average or median. */
static void test_skewed_history(void **state)
{
    fx *f = *state;
    mk(f, "skew", T0, 500000, WON, NULL);   /* versions 2..5 at T0 + 1..4 days */
    f->now = T0 + 10 * DAY;
    /* qualified (entered at version 2) left at version 3, stamped 5 days
     * before it was entered */
    tamper_add(&(tamper_plant){ T_H_AT, "skew", 3, T0 - 4 * DAY, NULL });
    /* created after it was won */
    tamper_add(&(tamper_plant){ T_CREATED, "skew", 0, T0 + 9 * DAY, NULL });
    tamper_add(&(tamper_plant){ T_H_AT, "skew", 1, T0 + 9 * DAY, NULL });
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = expect_ok(f, R_VELOCITY, &none);
    no_negative_duration(r);
    size_t q = row_of(r, "stage", "qualified"), c = row_of(r, "stage", "cycle");
    assert_true(q != SIZE_MAX && c != SIZE_MAX);
    int is_null;
    assert_int_equal(cell(r, q, "stays", &is_null), 1);
    assert_int_equal(cell(r, q, "avg_ms", &is_null), 0);
    assert_int_equal(cell(r, q, "median_ms", &is_null), 0);
    assert_int_equal(cell(r, c, "median_ms", &is_null), 0);
    sfsm_report_free(r);
}

/* ---- stored values outside what the library writes ---- */

/* Times at INT64_MIN / INT64_MAX in a record or an entry (only a corrupt
 * store holds them: the library and the import keep times within
 * +-(2^53-1)): SFSM_ESTORAGE naming the opportunity and the field, from
 * every report that reads them (was: a negative or wrapped velocity, and an
 * abort under UBSan). */
static void test_stored_time_extremes(void **state)
{
    fx *f = *state;
    mk(f, "t", T0, 500000, WON, NULL);
    f->now = T0 + 30 * DAY;
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    tamper_add(&(tamper_plant){ T_CREATED, "t", 0, INT64_MIN, NULL });
    for (int k = 0; k < R_COUNT; k++)
        expect_fail(f, k, &none, SFSM_ESTORAGE, "'t'", "created_ms", NULL);
    tamper_clear();
    tamper_add(&(tamper_plant){ T_ENTERED, "t", 0, INT64_MIN, NULL });
    expect_fail(f, R_STALE, &none, SFSM_ESTORAGE, "'t'", "stage_entered_ms", NULL);
    tamper_clear();
    /* the won entry at INT64_MAX, the one before at INT64_MIN */
    tamper_add(&(tamper_plant){ T_H_AT, "t", 5, INT64_MAX, NULL });
    tamper_add(&(tamper_plant){ T_H_AT, "t", 4, INT64_MIN, NULL });
    for (int k = 0; k < R_COUNT; k++) {
        if (k == R_STALE || k == R_PIPELINE)
            continue;   /* read no history without as_of */
        expect_fail(f, k, &none, SFSM_ESTORAGE, "'t'", "version 4", "at_ms", NULL);
    }
    sfsm_report_filter past = SFSM_REPORT_FILTER_INIT;
    past.as_of_ms = T0 + DAY;
    expect_fail(f, R_STALE, &past, SFSM_ESTORAGE, "'t'", "version 4", "at_ms", NULL);
}

/* ---- sums ---- */

/* 1025 deals at the largest amount, 2^53 - 1, overflow int64 together:
 * SFSM_EINVAL naming the report, the currency and the opportunity whose
 * amount made it overflow; 1024 of them add up exactly. */
static void test_sum_overflow(void **state)
{
    fx *f = *state;
    char id[32];
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    assert_int_equal(sfsm_engine_begin(f->e), SFSM_OK);
    for (int i = 0; i < 1024; i++) {
        snprintf(id, sizeof id, "big-%04d", i);
        mk(f, id, T0 + i, SFSM_SAFE_INTEGER, NULL);
    }
    assert_int_equal(sfsm_engine_commit(f->e), SFSM_OK);
    sfsm_report *r = expect_ok(f, R_PIPELINE, &none);
    int is_null;
    assert_int_equal(cell(r, 0, "amount", &is_null), 1024 * SFSM_SAFE_INTEGER);
    assert_int_equal(cell(r, 0, "weighted", &is_null), 1024 * SFSM_SAFE_INTEGER / 10);
    sfsm_report_free(r);
    mk(f, "big-last", T0 + 2000, SFSM_SAFE_INTEGER, NULL);
    expect_fail(f, R_PIPELINE, &none, SFSM_EINVAL, "pipeline", "CNY", "overflows", "big-", NULL);
}

/* ---- texts and records a corrupt store hands back ---- */

/* A report's JSON is JSON: control characters are escaped, and a text cell
 * that is not UTF-8 (only a corrupt store has one) is SFSM_ESTORAGE naming
 * the row and column, as export refuses it (was: the bytes copied raw). */
static void test_json_text(void **state)
{
    (void)state;
    static const char *const cols[] = { "id", "owner", "n" };
    sfsm_report *r = sfsm__rt_new("pipeline", cols, 3);
    assert_non_null(r);
    size_t row = sfsm__rt_row(r);
    sfsm__rt_text(r, row, 0, "a");
    sfsm__rt_text(r, row, 1, "esc \x1b[31m bel \x07 nl \n del \x7f 北京");
    sfsm__rt_int(r, row, 2, INT64_MIN);
    char *js = NULL;
    size_t len = 0;
    assert_int_equal(sfsm_report_to_json(r, &js, &len), SFSM_OK);
    assert_int_equal(strlen(js), len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)js[i] < 0x20)
            fail_msg("raw control character 0x%02x at byte %zu of %s", (unsigned char)js[i], i, js);
    assert_non_null(strstr(js, "esc \\u001b[31m bel \\u0007 nl \\n del \x7f 北京"));
    assert_non_null(strstr(js, "-9223372036854775808"));
    sfsm_free(js);
    row = sfsm__rt_row(r);
    sfsm__rt_text(r, row, 0, "b");
    sfsm__rt_text(r, row, 1, "cut \xe5\x8c");   /* a character cut short */
    sfsm__rt_int(r, row, 2, 1);
    js = (char *)r;
    len = 7;
    assert_int_equal(sfsm_report_to_json(r, &js, &len), SFSM_ESTORAGE);
    assert_null(js);
    assert_int_equal(len, 0);
    assert_non_null(strstr(sfsm_errmsg(), "row 1"));
    assert_non_null(strstr(sfsm_errmsg(), "'owner'"));
    assert_non_null(strstr(sfsm_errmsg(), "UTF-8"));
    sfsm_report_free(r);
}

/* Every report checks every record it loads against the rules import
 * enforces: SFSM_ESTORAGE naming the opportunity and the field (was: a
 * table with the bad value in it, or a silently wrong sum). */
static void test_corrupt_records(void **state)
{
    fx *f = *state;
    mk(f, "good", T0, 400000, WON, NULL);
    mk(f, "bad", T0, 500000, WON, NULL);
    mk(f, "open", T0, 600000, "qualify", NULL);
    f->now = T0 + 30 * DAY;
    const struct {
        tamper_plant p;
        const char *field;
    } cases[] = {
        { { T_VERSION, "bad", 0, 0, NULL }, "version" },
        { { T_VERSION, "bad", 0, SFSM_SAFE_INTEGER + 1, NULL }, "version" },
        { { T_AMOUNT, "bad", 0, -500000, NULL }, "amount" },
        { { T_AMOUNT, "bad", 0, SFSM_SAFE_INTEGER + 1, NULL }, "amount" },
        { { T_CURRENCY, "bad", 0, 0, "cny" }, "currency" },
        { { T_CURRENCY, "bad", 0, 0, NULL }, "currency" },
        { { T_STAGE, "bad", 0, 0, "nowhere" }, "stage" },
        { { T_STAGE, "bad", 0, 0, NULL }, "stage" },
        { { T_CUSTOMER, "bad", 0, 0, "" }, "customer" },
        { { T_OWNER, "bad", 0, 0, "r\xff\xfevi" }, "owner" },
        { { T_TITLE, "bad", 0, 0, "t\xc3" }, "title" },
        { { T_CREATED, "bad", 0, SFSM_SAFE_INTEGER + 1, NULL }, "created_ms" },
    };
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tamper_clear();
        tamper_add(&cases[c].p);
        for (int k = 0; k < R_COUNT; k++)
            expect_fail(f, k, &none, SFSM_ESTORAGE, "'bad'", cases[c].field, NULL);
    }
    tamper_clear();
    for (int k = 0; k < R_COUNT; k++) {
        sfsm_report *r = expect_ok(f, k, &none);
        sfsm_report_free(r);
    }
}

/* History entries the reports read: a gap in the versions, an unknown
 * kind, an entry time outside +-(2^53-1), a history that does not end
 * where the record stands: SFSM_ESTORAGE naming the opportunity (and the
 * version), from every report that reads the history. */
static void test_corrupt_history(void **state)
{
    fx *f = *state;
    mk(f, "h", T0, 500000, WON, NULL);   /* versions 1 (create) .. 5 (sign) */
    mk(f, "ok", T0, 400000, "qualify", NULL);
    f->now = T0 + 30 * DAY;
    const struct {
        tamper_plant p;
        const char *needle;
    } cases[] = {
        { { T_H_VERSION, "h", 3, 7, NULL }, "version 7" },
        { { T_H_VERSION, "h", 1, 0, NULL }, "version 0" },
        { { T_H_KIND, "h", 4, 9, NULL }, "kind" },
        { { T_H_AT, "h", 2, -SFSM_SAFE_INTEGER - 1, NULL }, "at_ms" },
        { { T_H_TO, "h", 5, 0, "negotiating" }, "stage" },
        { { T_H_TO, "h", 5, 0, "elsewhere" }, "stage" },
    };
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tamper_clear();
        tamper_add(&cases[c].p);
        for (int k = 0; k < R_COUNT; k++)
            if (k != R_PIPELINE && k != R_STALE)   /* read no history without as_of */
                expect_fail(f, k, &none, SFSM_ESTORAGE, "'h'", cases[c].needle, NULL);
        sfsm_report_filter past = SFSM_REPORT_FILTER_INIT;
        past.as_of_ms = T0 + 2 * DAY;
        expect_fail(f, R_PIPELINE, &past, SFSM_ESTORAGE, "'h'", cases[c].needle, NULL);
    }
}

/* The changes an as_of report replays: what the import would refuse is
 * SFSM_ESTORAGE naming the opportunity and the version (was: a negative
 * amount reported, a lower-case currency grouped apart, text after the
 * object or a repeated member taken as they came). */
static void test_corrupt_changes(void **state)
{
    fx *f = *state;
    mk(f, "c", T0, 500000, NULL);
    sfsm_opp *h = NULL;
    assert_int_equal(sfsm_opp_open(f->e, "c", &h), SFSM_OK);
    f->now = T0 + 10 * DAY;
    assert_int_equal(sfsm_opp_set_amount(h, 900000, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->e, h), SFSM_OK);   /* version 2 */
    sfsm_opp_free(h);
    sfsm_report_filter past = SFSM_REPORT_FILTER_INIT;
    past.as_of_ms = T0 + 5 * DAY;   /* before the change: replayed */
    sfsm_report *r = expect_ok(f, R_PIPELINE, &past);
    int is_null;
    assert_int_equal(cell(r, 0, "amount", &is_null), 500000);
    sfsm_report_free(r);
    static const char *const bad[] = {
        "{\"amount\":-5,\"currency\":\"CNY\"}",
        "{\"amount\":900000,\"currency\":\"cny\"}",
        "{\"amount\":900000,\"currency\":\"CNY\"} x",
        "{\"amount\":900000,\"amount\":1,\"currency\":\"CNY\"}",
        "{\"amount\":900000}",
        "{\"amount\":900000,\"currency\":\"CNY\",\"owner\":\"x\"}",
        "{\"amount\":900000,\"currency\":\"C\xffY\"}",
        "{\"amount\":9.5e0,\"currency\":\"CNY\"}",   /* 9.5: 9.5e5 is the integer 950000 */
        "[900000]",
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        tamper_clear();
        tamper_add(&(tamper_plant){ T_H_CHANGES, "c", 2, 0, bad[c] });
        expect_fail(f, R_PIPELINE, &past, SFSM_ESTORAGE, "'c'", "version 2", "changes", NULL);
    }
}

/* A payment the store hands back out of range (amount 0 or negative):
 * SFSM_ESTORAGE naming the opportunity (was: summed into collected). */
static void test_corrupt_payment(void **state)
{
    fx *f = *state;
    mk(f, "p", T0, 500000, WON, NULL);
    assert_int_equal(sfsm_payment_add(f->e, "p", 100000, "CNY", NULL), SFSM_OK);
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = expect_ok(f, R_RECEIVABLES, &none);
    int is_null;
    assert_int_equal(cell(r, row_of(r, "id", "p"), "collected", &is_null), 100000);
    sfsm_report_free(r);
    tamper_add(&(tamper_plant){ T_P_AMOUNT, "p", 1, -100000, NULL });
    expect_fail(f, R_RECEIVABLES, &none, SFSM_ESTORAGE, "'p'", "payment 1", "amount", NULL);
}

static int count_payment(const sfsm_payment *p, void *ud)
{
    (void)p;
    ++*(size_t *)ud;
    return 0;
}

/* Payments against their opportunity, the rules sfsm_payment_add keeps: a
 * time within +-(2^53-1), the opportunity's currency, no more in all than
 * its amount. A store handing back others is damaged: SFSM_ESTORAGE naming
 * the opportunity from the receivables report (also as_of), the payment
 * list (one opportunity's or all) and the next payment (was: a USD payment
 * summed into a CNY deal, a negative outstanding amount, the year
 * 292278994). */
static void test_payment_against_deal(void **state)
{
    fx *f = *state;
    mk(f, "p", T0, 500000, WON, NULL);
    mk(f, "q", T0, 300000, WON, NULL);
    assert_int_equal(sfsm_payment_add(f->e, "p", 100000, "CNY", NULL), SFSM_OK);
    assert_int_equal(sfsm_payment_add(f->e, "p", 100000, "CNY", NULL), SFSM_OK);
    assert_int_equal(sfsm_payment_add(f->e, "q", 300000, "CNY", NULL), SFSM_OK);   /* paid in full: passes */
    f->now = T0 + 30 * DAY;
    const struct {
        tamper_plant p;
        const char *needle;
    } cases[] = {
        { { T_P_AT, "p", 2, SFSM_SAFE_INTEGER + 1, NULL }, "payment 2: at_ms" },
        { { T_P_AT, "p", 1, INT64_MAX, NULL }, "payment 1: at_ms" },
        { { T_P_CURRENCY, "p", 2, 0, "USD" }, "payment 2: currency: 'USD', but the opportunity's is 'CNY'" },
        { { T_P_AMOUNT, "p", 2, 400001, NULL }, "payments: 500001 collected, more than its amount 500000" },
    };
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT, past = SFSM_REPORT_FILTER_INIT;
    past.as_of_ms = f->now;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tamper_clear();
        tamper_add(&cases[c].p);
        expect_fail(f, R_RECEIVABLES, &none, SFSM_ESTORAGE, "'p'", cases[c].needle, NULL);
        expect_fail(f, R_RECEIVABLES, &past, SFSM_ESTORAGE, "'p'", cases[c].needle, NULL);
        size_t n = 0;
        assert_int_equal(sfsm_payment_list(f->e, "p", count_payment, &n), SFSM_ESTORAGE);
        assert_non_null(strstr(sfsm_errmsg(), cases[c].needle));
        assert_int_equal(n, 0);   /* before cb sees any payment of the opportunity */
        assert_int_equal(sfsm_payment_list(f->e, NULL, count_payment, &n), SFSM_ESTORAGE);
        assert_non_null(strstr(sfsm_errmsg(), cases[c].needle));
        assert_int_equal(sfsm_payment_add(f->e, "p", 1, "CNY", NULL), SFSM_ESTORAGE);
        assert_non_null(strstr(sfsm_errmsg(), cases[c].needle));
    }
    tamper_clear();
    size_t n = 0;
    assert_int_equal(sfsm_payment_list(f->e, NULL, count_payment, &n), SFSM_OK);
    assert_int_equal(n, 3);
    sfsm_report *r = expect_ok(f, R_RECEIVABLES, &none);
    int is_null;
    assert_int_equal(cell(r, row_of(r, "id", "q"), "outstanding", &is_null), 0);
    sfsm_report_free(r);
}

/* The history a report reads is the record's: one entry per version
 * (the last one missing, though it stayed at the same stage), each starting
 * where the previous one ended (entries out of order), and, for a record at
 * the engine's pipeline version, stages the pipeline knows in the entries
 * since its last migrate entry (every entry, without one). SFSM_ESTORAGE
 * naming the opportunity and the version, from every report that reads the
 * history (was: velocity counted swapped stays, dropped a stay at an
 * unknown stage). Entries before a migration, or of a record of an earlier
 * pipeline version, may carry names the pipeline no longer has. */
static void test_history_against_record(void **state)
{
    fx *f = *state;
    mk(f, "h", T0, 500000, WON, NULL);   /* versions 1 (create) .. 5 (sign) */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->e, "h", &o), SFSM_OK);
    f->now += DAY;
    assert_int_equal(sfsm_opp_set_title(o, "renewal"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->e, o), SFSM_OK);   /* 6: an update, still signed */
    sfsm_opp_free(o);
    mk(f, "ok", T0, 400000, "qualify", NULL);
    f->now = T0 + 30 * DAY;
    const struct {
        tamper_plant p[3];
        const char *needle;   /* NULL: the reports answer */
    } cases[] = {
        { { { T_H_DROP, "h", 6, 0, NULL } }, "history: 5 entries, but the record is at version 6" },
        { { { T_H_FROM, "h", 3, 0, "lead" } }, "history version 3: from: 'lead', but the previous entry ended at 'qualified'" },
        { { { T_H_TO, "h", 3, 0, "limbo" }, { T_H_FROM, "h", 4, 0, "limbo" } },
          "history version 3: to: 'limbo' is not a stage of pipeline 'default' version 1" },
        { { { T_H_TO, "h", 3, 0, "limbo" }, { T_H_FROM, "h", 4, 0, "negotiating" } },
          "history version 4: from: 'negotiating', but the previous entry ended at 'limbo'" },
        { { { T_H_KIND, "h", 2, SFSM_HISTORY_CREATE, NULL } }, "history version 2: kind" },
        /* an earlier version's record: its stages need only be well formed */
        { { { T_H_TO, "h", 3, 0, "limbo" }, { T_H_FROM, "h", 4, 0, "limbo" }, { T_PIPELINE_VERSION, "h", 0, 0, NULL } },
          NULL },
        /* before the last migrate entry: an earlier version's names */
        { { { T_H_TO, "h", 2, 0, "limbo" }, { T_H_FROM, "h", 3, 0, "limbo" },
            { T_H_KIND, "h", 3, SFSM_HISTORY_MIGRATE, NULL } },
          NULL },
    };
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT, past = SFSM_REPORT_FILTER_INIT;
    past.as_of_ms = T0 + 2 * DAY;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tamper_clear();
        for (size_t j = 0; j < 3 && cases[c].p[j].field != T_NONE; j++)
            tamper_add(&cases[c].p[j]);
        for (int k = 0; k < R_COUNT; k++) {
            if (!cases[c].needle)
                sfsm_report_free(expect_ok(f, k, &none));
            else if (k != R_PIPELINE && k != R_STALE)   /* read no history without as_of */
                expect_fail(f, k, &none, SFSM_ESTORAGE, "'h'", cases[c].needle, NULL);
        }
        if (cases[c].needle)
            expect_fail(f, R_PIPELINE, &past, SFSM_ESTORAGE, "'h'", cases[c].needle, NULL);
        else
            sfsm_report_free(expect_ok(f, R_PIPELINE, &past));
    }
}

/* An argument runs only the tests it matches (cmocka's filter). */
/* Payments summed past int64 (each within its range, 1025 of them at the
 * largest amount): of an opportunity the report loads, more than its amount
 * (SFSM_ESTORAGE) long before; of one it does not (another owner's), only
 * summed: SFSM_EINVAL naming the opportunity. */
static void test_payment_sum_overflow(void **state)
{
    fx *f = *state;
    mk(f, "p", T0, 1025, WON, NULL);
    assert_int_equal(sfsm_engine_begin(f->e), SFSM_OK);
    for (int i = 0; i < 1025; i++)
        assert_int_equal(sfsm_payment_add(f->e, "p", 1, "CNY", NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(f->e), SFSM_OK);
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    sfsm_report *r = expect_ok(f, R_RECEIVABLES, &none);
    int is_null;
    assert_int_equal(cell(r, row_of(r, "id", "p"), "outstanding", &is_null), 0);
    sfsm_report_free(r);
    tamper_add(&(tamper_plant){ T_P_AMOUNT, "p", 0, SFSM_SAFE_INTEGER, NULL });
    expect_fail(f, R_RECEIVABLES, &none, SFSM_ESTORAGE, "'p'", "payments", "more than its amount", NULL);
    sfsm_report_filter other = SFSM_REPORT_FILTER_INIT;
    other.owner = "someone else";
    expect_fail(f, R_RECEIVABLES, &other, SFSM_EINVAL, "payments", "overflows", "'p'", NULL);
}

/* A period at the ends of int64 (whole days): no calendar period, so
 * attainment refuses it; forecast only compares with it. */
static void test_extreme_period(void **state)
{
    fx *f = *state;
    mk(f, "w", T0, 500000, WON, NULL);
    sfsm_report_filter all = SFSM_REPORT_FILTER_INIT;
    all.from_ms = INT64_MIN / DAY * DAY;
    all.to_ms = INT64_MAX / DAY * DAY;
    expect_fail(f, R_ATTAINMENT, &all, SFSM_EINVAL, "period", NULL);
    for (int k = 0; k < R_COUNT; k++)
        if (k != R_ATTAINMENT) {
            sfsm_report *r = expect_ok(f, k, &all);
            no_negative_duration(r);
            sfsm_report_free(r);
        }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clock_far_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_far_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skewed_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_time_extremes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum_overflow, setup, teardown),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test_setup_teardown(test_corrupt_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_payment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_sum_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_against_deal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_against_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extreme_period, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("with history_scan", tests, NULL, NULL);
    tamper_history_scan = 0;   /* the other way reports read history */
    return failed + cmocka_run_group_tests_name("with read_history", tests, NULL, NULL);
}
