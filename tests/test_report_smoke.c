/* Smoke test of the reports: each runs on an empty and on a small store,
 * with the columns report.h documents; a few figures checked by hand. The
 * thorough checks are in test_reports.c. */
#include <stdio.h>

#include "testutil.h"

typedef int (*report_fn)(sfsm_engine *, const sfsm_report_filter *, sfsm_report **);

typedef struct spec {
    const char *name;
    report_fn fn;
    const char *cols;   /* name:type list */
    int needs_period;
} spec;

static const spec SPECS[] = {
    { "pipeline", sfsm_report_pipeline, "stage:t currency:t count:i amount:i weighted:i", 0 },
    { "forecast", sfsm_report_forecast, "category:t currency:t count:i amount:i weighted:i", 1 },
    { "funnel", sfsm_report_funnel, "stage:t reached:i next:t converted:i rate_bp:i", 0 },
    { "win_rate", sfsm_report_win_rate, "owner:t won:i lost:i rate_bp:i", 0 },
    { "velocity", sfsm_report_velocity, "stage:t owner:t stays:i avg_ms:i median_ms:i", 0 },
    { "stale", sfsm_report_stale, "id:t stage:t owner:t customer:t entered_ms:i days_in_stage:i stale_days:i", 0 },
    { "calibration", sfsm_report_calibration, "stage:t probability:i closed:i won:i observed_bp:i", 0 },
    { "attainment", sfsm_report_attainment,
      "subject_kind:t subject:t currency:t target:i won:i attainment_bp:i", 1 },
    { "receivables", sfsm_report_receivables,
      "id:t owner:t currency:t won:i collected:i outstanding:i won_ms:i outstanding_ms:i", 0 },
};
#define NSPECS (sizeof SPECS / sizeof SPECS[0])

/* Q1 2026, UTC. */
#define Q1_FROM T0_MS
#define Q1_TO INT64_C(1775001600000)

static void check_columns(const sfsm_report *r, const spec *s)
{
    char buf[256];
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < sfsm_report_column_count(r); c++) {
        const char *n = sfsm_report_column_name(r, c);
        char type = 0;
        for (size_t row = 0; row < sfsm_report_row_count(r); row++) {
            char seen = sfsm_report_text(r, row, c) ? 't' : sfsm_report_is_null(r, row, c) ? 0 : 'i';
            if (seen && type && seen != type)
                type = '?';
            else if (seen)
                type = seen;
        }
        /* Only nulls (or no rows): the type cannot be seen; take the spec's. */
        char key[64], cols[256];
        snprintf(key, sizeof key, " %s:", n);
        snprintf(cols, sizeof cols, " %s", s->cols);
        const char *want = strstr(cols, key);
        if (want && !type)
            type = want[strlen(key)];
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s%s:%c", c ? " " : "", n, type);
    }
    assert_string_equal(sfsm_report_name(r), s->name);
    assert_string_equal(buf, s->cols);
}

static sfsm_report *run(fixture *f, const spec *s, const sfsm_report_filter *flt)
{
    sfsm_report *r = NULL;
    int rc = s->fn(f->engine, flt, &r);
    if (rc != SFSM_OK)
        fail_msg("report %s: %s", s->name, sfsm_errmsg());
    check_columns(r, s);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(sfsm_report_to_json(r, &json, &len), SFSM_OK);
    assert_int_equal(strlen(json), len);
    assert_non_null(strstr(json, "\"report\":"));
    sfsm_free(json);
    return r;
}

static void test_empty(void **state)
{
    fixture *f = *state;
    sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
    flt.from_ms = Q1_FROM;
    flt.to_ms = Q1_TO;
    for (size_t i = 0; i < NSPECS; i++) {
        sfsm_report *r = run(f, &SPECS[i], &flt);
        size_t rows = sfsm_report_row_count(r);
        if (!strcmp(SPECS[i].name, "funnel"))
            assert_int_equal(rows, 7);
        else if (!strcmp(SPECS[i].name, "calibration"))
            assert_int_equal(rows, 4);
        else if (!strcmp(SPECS[i].name, "win_rate"))
            assert_int_equal(rows, 1);
        else
            assert_int_equal(rows, 0);
        sfsm_report_free(r);
    }
}

static void test_period_required(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < NSPECS; i++) {
        sfsm_report *r = (sfsm_report *)1;
        int rc = SPECS[i].fn(f->engine, NULL, &r);
        assert_int_equal(rc, SPECS[i].needs_period ? SFSM_EINVAL : SFSM_OK);
        sfsm_report_free(r);
        sfsm_report_filter bad = SFSM_REPORT_FILTER_INIT;
        bad.version = 99;
        assert_int_equal(SPECS[i].fn(f->engine, &bad, &r), SFSM_EVERSION);
        assert_null(r);
        bad = (sfsm_report_filter)SFSM_REPORT_FILTER_INIT;
        bad.from_ms = 10;
        bad.to_ms = 5;
        assert_int_equal(SPECS[i].fn(f->engine, &bad, &r), SFSM_EINVAL);
    }
    sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
    flt.from_ms = Q1_FROM;
    flt.to_ms = Q1_TO + DAY_MS;   /* not a calendar period */
    sfsm_report *r;
    assert_int_equal(sfsm_report_attainment(f->engine, &flt, &r), SFSM_EINVAL);
}

static size_t col(const sfsm_report *r, const char *name)
{
    size_t c = 0;
    assert_int_equal(sfsm_report_column(r, name, &c), SFSM_OK);
    return c;
}

static void small_store(fixture *f)
{
    sfsm_opp_free(fixture_opp(f, "a", NULL));
    f->now += DAY_MS;
    sfsm_opp_free(fixture_opp(f, "b", "qualify", "quote", NULL));
    f->now += DAY_MS;
    sfsm_opp *c = fixture_opp(f, "c", "qualify", NULL);
    f->now += 2 * DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, c, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, c, "negotiate", &MANAGER, NULL), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, c, "sign", &MANAGER, NULL), SFSM_OK);
    sfsm_opp_free(c);
    sfsm_opp_free(fixture_opp(f, "d", "lose", NULL));
    f->now += DAY_MS;
}

static void test_small(void **state)
{
    fixture *f = *state;
    small_store(f);
    assert_int_equal(sfsm_team_set(f->engine, "ravi", "east"), SFSM_OK);
    sfsm_target t = { SFSM_SUBJECT_OWNER, "ravi", { 2026, SFSM_PERIOD_QUARTER, 1 }, 2400000, "CNY" };
    assert_int_equal(sfsm_target_set(f->engine, &t), SFSM_OK);
    t.subject_kind = SFSM_SUBJECT_TEAM;
    t.subject = "east";
    t.amount = 1200000;
    assert_int_equal(sfsm_target_set(f->engine, &t), SFSM_OK);
    assert_int_equal(sfsm_payment_add(f->engine, "c", 200000, "CNY", NULL), SFSM_OK);

    sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
    flt.from_ms = Q1_FROM;
    flt.to_ms = Q1_TO;
    for (size_t i = 0; i < NSPECS; i++) {
        sfsm_report *r = run(f, &SPECS[i], SPECS[i].needs_period ? &flt : NULL);
        const char *n = SPECS[i].name;
        if (!strcmp(n, "pipeline")) {
            assert_int_equal(sfsm_report_row_count(r), 4);
            assert_string_equal(sfsm_report_text(r, 0, 0), "lead");
            assert_int_equal(sfsm_report_int(r, 0, col(r, "weighted")), 120000);
            assert_string_equal(sfsm_report_text(r, 3, 0), "lost");
        } else if (!strcmp(n, "forecast")) {
            assert_int_equal(sfsm_report_row_count(r), 2);
            assert_string_equal(sfsm_report_text(r, 0, 0), "closed");
            assert_string_equal(sfsm_report_text(r, 1, 0), "total");
            assert_int_equal(sfsm_report_int(r, 1, col(r, "weighted")), 1200000);
        } else if (!strcmp(n, "funnel")) {
            assert_int_equal(sfsm_report_int(r, 0, 1), 4);
            assert_int_equal(sfsm_report_int(r, 0, 3), 2);
            assert_int_equal(sfsm_report_int(r, 0, 4), 5000);
            assert_true(sfsm_report_is_null(r, 6, 2));
        } else if (!strcmp(n, "win_rate")) {
            assert_int_equal(sfsm_report_row_count(r), 2);
            assert_string_equal(sfsm_report_text(r, 0, 0), "ravi");
            assert_int_equal(sfsm_report_int(r, 0, 3), 5000);
            assert_true(sfsm_report_is_null(r, 1, 0));
        } else if (!strcmp(n, "velocity")) {
            /* c: lead 0 ms, qualified 2 days, quoted 0, negotiating 1 day;
             * b: lead 0 ms, qualified 0 ms; d: lead 0; cycle 3 days. */
            size_t last = sfsm_report_row_count(r) - 1;
            assert_string_equal(sfsm_report_text(r, last, 0), "cycle");
            assert_string_equal(sfsm_report_text(r, last, 1), "ravi");
            assert_int_equal(sfsm_report_int(r, last, 4), 3 * DAY_MS);
        } else if (!strcmp(n, "stale")) {
            assert_int_equal(sfsm_report_row_count(r), 0);
        } else if (!strcmp(n, "calibration")) {
            assert_int_equal(sfsm_report_int(r, 0, col(r, "closed")), 2);
            assert_int_equal(sfsm_report_int(r, 0, col(r, "observed_bp")), 5000);
        } else if (!strcmp(n, "attainment")) {
            assert_int_equal(sfsm_report_row_count(r), 2);
            assert_string_equal(sfsm_report_text(r, 0, 0), "owner");
            assert_int_equal(sfsm_report_int(r, 0, 5), 5000);
            assert_string_equal(sfsm_report_text(r, 1, 0), "team");
            assert_int_equal(sfsm_report_int(r, 1, 5), 10000);
        } else if (!strcmp(n, "receivables")) {
            assert_int_equal(sfsm_report_row_count(r), 2);
            assert_string_equal(sfsm_report_text(r, 0, 0), "c");
            assert_int_equal(sfsm_report_int(r, 0, col(r, "outstanding")), 1000000);
            assert_true(sfsm_report_is_null(r, 1, 0));
        }
        sfsm_report_free(r);
    }

    /* As of 30 days on: a and b are stale; as of before anything: empty. */
    flt = (sfsm_report_filter)SFSM_REPORT_FILTER_INIT;
    flt.as_of_ms = T0_MS + 30 * DAY_MS;
    sfsm_report *r = run(f, &SPECS[5], &flt);
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_string_equal(sfsm_report_text(r, 0, 0), "a");
    sfsm_report_free(r);
    flt.as_of_ms = T0_MS - 1;
    r = run(f, &SPECS[0], &flt);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    flt.as_of_ms = T0_MS + DAY_MS / 2;   /* only a, in lead */
    r = run(f, &SPECS[0], &flt);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(sfsm_report_int(r, 0, 2), 1);
    sfsm_report_free(r);

    /* Filters. */
    flt = (sfsm_report_filter)SFSM_REPORT_FILTER_INIT;
    flt.owner = "nobody";
    r = run(f, &SPECS[0], &flt);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    flt.owner = NULL;
    flt.team = "east";
    r = run(f, &SPECS[0], &flt);
    assert_int_equal(sfsm_report_row_count(r), 4);
    sfsm_report_free(r);
}

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    small_store(f);
    sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
    flt.from_ms = Q1_FROM;
    flt.to_ms = Q1_TO;
    flt.as_of_ms = T0_MS + 10 * DAY_MS;
    failalloc_install();
    for (size_t i = 0; i < NSPECS; i++) {
        for (long n = 1;; n++) {
            long live = failalloc_live();
            failalloc_arm(n);
            sfsm_report *r = NULL;
            int rc = SPECS[i].fn(f->engine, &flt, &r);
            int failed = failalloc_failed();
            failalloc_arm(0);
            if (!failed) {
                assert_int_equal(rc, SFSM_OK);
                sfsm_report_free(r);
                break;
            }
            if (rc == SFSM_OK)
                sfsm_report_free(r);
            else
                assert_null(r);
            assert_int_equal(failalloc_live(), live);
        }
    }
    failalloc_uninstall();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_period_required, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_small, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
