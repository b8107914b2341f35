/* Integer columns of every table holding what SQLite would convert on
 * request (text '2abc' reads as 2, a real 2.5 as 2, NULL as 0) or a value
 * the C field would cut (kind + 2^32 reads as kind): every reader of the
 * SQLite store refuses the row with SFSM_ESTORAGE naming the file, the row
 * and the table.column, and leaves the file as it was. Planting needs the
 * SQLite run (SFSM_SQLITE_ONLY_TESTS).
 *
 * NULL is planted where the schema text allows it once NOT NULL is dropped
 * from it (as another program could have); primary-key columns of the
 * WITHOUT ROWID tables (history.version, payment.seq, target.subject_kind,
 * year, period_kind, period_index) refuse NULL whatever the schema text
 * says, so they get no NULL case. */
#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>

enum reader { R_ENGINE, R_GET, R_SCAN, R_HISTORY, R_REPORT, R_PAYMENTS, R_PAYMENTS_ALL, R_TARGETS };

/* What is planted: text, a real, NULL, and a value too wide for the field. */
enum { P_TEXT = 1, P_REAL = 2, P_NULL = 4, P_WIDE = 8 };

static const struct {
    const char *table, *column, *where;
    unsigned plants;
    enum reader readers[2];
    size_t nreaders;
} cases[] = {
    { "opp", "version", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    { "opp", "amount", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    { "opp", "expected_close_ms", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    { "opp", "created_ms", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    { "opp", "updated_ms", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    { "opp", "stage_entered_ms", "id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_GET, R_SCAN }, 2 },
    /* the engine's stage count meets it first */
    { "opp", "pipeline_version", "id = 'o-1'", P_TEXT | P_REAL | P_NULL | P_WIDE, { R_ENGINE }, 1 },
    /* the last entry, so that a text version still sorts last */
    { "history", "version", "opp_id = 'o-1' AND version = 5", P_TEXT | P_REAL, { R_HISTORY, R_REPORT }, 2 },
    { "history", "at_ms", "opp_id = 'o-1' AND version = 5", P_TEXT | P_REAL | P_NULL, { R_HISTORY, R_REPORT }, 2 },
    { "history", "kind", "opp_id = 'o-1' AND version = 5", P_TEXT | P_REAL | P_NULL | P_WIDE,
      { R_HISTORY, R_REPORT }, 2 },
    { "history", "fields", "opp_id = 'o-1' AND version = 5", P_TEXT | P_REAL | P_NULL | P_WIDE,
      { R_HISTORY, R_REPORT }, 2 },
    { "payment", "seq", "opp_id = 'o-1'", P_TEXT | P_REAL, { R_PAYMENTS, R_PAYMENTS_ALL }, 2 },
    { "payment", "amount", "opp_id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_PAYMENTS, R_PAYMENTS_ALL }, 2 },
    { "payment", "at_ms", "opp_id = 'o-1'", P_TEXT | P_REAL | P_NULL, { R_PAYMENTS, R_PAYMENTS_ALL }, 2 },
    { "target", "subject_kind", "subject = 'ravi'", P_TEXT | P_REAL | P_WIDE, { R_TARGETS }, 1 },
    { "target", "year", "subject = 'ravi'", P_TEXT | P_REAL | P_WIDE, { R_TARGETS }, 1 },
    { "target", "period_kind", "subject = 'ravi'", P_TEXT | P_REAL | P_WIDE, { R_TARGETS }, 1 },
    { "target", "period_index", "subject = 'ravi'", P_TEXT | P_REAL | P_WIDE, { R_TARGETS }, 1 },
    { "target", "amount", "subject = 'ravi'", P_TEXT | P_REAL | P_NULL, { R_TARGETS }, 1 },
};

/* Each plant keeps what SQLite would convert it back to equal to the value
 * it replaces, so only the column's type (or width) is wrong. */
static const struct {
    unsigned plant;
    const char *expr;   /* %s: the column */
    const char *says;
} plants[] = {
    { P_TEXT, "CAST(%s AS TEXT) || 'abc'", "holds text, not an integer" },
    { P_REAL, "%s + 0.5", "holds a real number, not an integer" },
    { P_NULL, "NULL + %s", "holds NULL, not an integer" },
    { P_WIDE, "%s + 4294967296", ", outside " },
};

static int64_t clock_at(void *ud)
{
    return *(int64_t *)ud;
}

static int64_t now = T0_MS;

/* The stored file (closed) with o-1 (signed: five history entries, an
 * amount, a payment), ravi in team east, and ravi's 2026 target; NOT NULL
 * dropped from every integer column's schema text. */
static void make_store(char path[256])
{
    fixture *f = fixture_new();
    sfsm_opp *o = fixture_opp(f, "o-1", "qualify", "quote", "negotiate", "sign", NULL);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_payment_add(f->engine, "o-1", 500000, "CNY", NULL), SFSM_OK);
    assert_int_equal(sfsm_team_set(f->engine, "ravi", "east"), SFSM_OK);
    sfsm_target t = { SFSM_SUBJECT_OWNER, "ravi", { 2026, SFSM_PERIOD_YEAR, 1 }, 5000000, "CNY" };
    assert_int_equal(sfsm_target_set(f->engine, &t), SFSM_OK);
    snprintf(path, 256, "%s", f->path);
    f->path[0] = '\0';   /* kept: fixture_free must not remove it */
    fixture_free(f);
    schema_text_replace(path, "type = 'table'", "INTEGER NOT NULL", "INTEGER");
}

static int count_cb(const void *x, void *ud)
{
    (void)x;
    ++*(size_t *)ud;
    return 0;
}

static int on_entry(const sfsm_history_entry *h, void *ud)
{
    return count_cb(h, ud);
}

static int on_payment(const sfsm_payment *p, void *ud)
{
    return count_cb(p, ud);
}

static int on_target(const sfsm_target *t, void *ud)
{
    return count_cb(t, ud);
}

/* Runs reader r on the file: its code; the message in sfsm_errmsg. */
static int read_with(const char *path, enum reader r)
{
    file_engine fe;
    int rc = file_engine_open(&fe, path);
    sfsm_engine *e = fe.e;
    size_t n = 0;
    if (rc == SFSM_OK) {
        assert_int_equal(r == R_ENGINE, 0);   /* that reader must fail here */
        sfsm_engine_set_clock(e, clock_at, &now);
        sfsm_opp *o = NULL;
        sfsm_report *rep = NULL;
        sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
        f.from_ms = T0_MS;
        f.to_ms = T0_MS + 365 * DAY_MS;
        switch (r) {
        case R_GET: rc = sfsm_opp_open(e, "o-1", &o); break;
        case R_SCAN: rc = sfsm_scan(e, NULL, count_opps_cb, &n); break;
        case R_HISTORY: rc = sfsm_opp_history(e, "o-1", on_entry, &n); break;
        case R_REPORT: rc = sfsm_report_funnel(e, &f, &rep); break;
        case R_PAYMENTS: rc = sfsm_payment_list(e, "o-1", on_payment, &n); break;
        case R_PAYMENTS_ALL: rc = sfsm_payment_list(e, NULL, on_payment, &n); break;
        case R_TARGETS: rc = sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, on_target, &n); break;
        case R_ENGINE: break;
        }
        sfsm_opp_free(o);
        sfsm_report_free(rep);
    }
    return file_engine_close(&fe, rc);   /* keeps the reader's message */
}

static void assert_has(const char *what, const char *needle)
{
    if (!strstr(sfsm_errmsg(), needle))
        fail_msg("%s: message '%s' lacks '%s'", what, sfsm_errmsg(), needle);
}

/* Before any damage every reader works on the store. */
static void test_undamaged_reads(void **state)
{
    (void)state;
    char path[256];
    make_store(path);
    for (int r = R_GET; r <= R_TARGETS; r++)
        if (read_with(path, (enum reader)r) != SFSM_OK)
            fail_msg("reader %d: %s", r, sfsm_errmsg());
    test_store_remove(path);
}

static void test_planted_integer_columns(void **state)
{
    (void)state;
    char path[256];
    make_store(path);
    size_t size = 0;
    char *clean = read_all(path, &size);
    size_t planted = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t k = 0; k < sizeof plants / sizeof plants[0]; k++) {
            if (!(cases[c].plants & plants[k].plant))
                continue;
            for (size_t i = 0; i < cases[c].nreaders; i++) {
                test_store_remove(path);   /* with any -wal left */
                write_all(path, clean, size);
                char expr[128], sql[512], what[560], column[64];
                snprintf(expr, sizeof expr, plants[k].expr, cases[c].column);
                snprintf(sql, sizeof sql, "UPDATE %s SET %s = %s WHERE %s;", cases[c].table, cases[c].column, expr,
                         cases[c].where);
                exec_on(path, sql);
                size_t n = 0;
                char *before = read_all(path, &n);
                snprintf(what, sizeof what, "%s (reader %d)", sql, (int)cases[c].readers[i]);
                int rc = read_with(path, cases[c].readers[i]);
                if (rc != SFSM_ESTORAGE)
                    fail_msg("%s: %d, not SFSM_ESTORAGE (%s)", what, rc, sfsm_errmsg());
                char file[300];
                snprintf(file, sizeof file, "sqlite store '%s': ", path);
                assert_has(what, file);
                assert_has(what, cases[c].table[0] == 't' ? "stored target of 'ravi'"
                                                          : cases[c].readers[i] == R_ENGINE
                                                                ? "stored opportunities at stage 'signed'"
                                                                : "stored opportunity 'o-1'");
                snprintf(column, sizeof column, "%s.%s holds", cases[c].table, cases[c].column);
                assert_has(what, column);
                assert_has(what, plants[k].says);
                size_t m = 0;
                char *after = read_all(path, &m);
                assert_true(m == n && memcmp(before, after, n) == 0);
                free(before);
                free(after);
                planted++;
            }
        }
    }
    assert_int_equal(planted, 97);
    free(clean);
    test_store_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undamaged_reads),
        cmocka_unit_test(test_planted_integer_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
