/* The changes text of stored history entries, planted into the SQLite file
 * through a second connection, against record_check.c's reader: escapes
 * (upper-case hex, surrogates right and wrong, escaped member names and
 * currencies), attribute objects broken in each place, and the text
 * limits. A bad one is SFSM_ESTORAGE naming the opportunity, the history
 * version and what is wrong; a good one reads back. Editing the file needs
 * the SQLite run; the memory run skips (test_record_check.c plants into a
 * custom backend there). */
#define _POSIX_C_SOURCE 200809L   /* strdup */
#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <sqlite3.h>

#define OK_ NULL

typedef struct hcase {
    int version;        /* 1: the create entry (amount, currency, customer, owner); 2: an attrs update */
    const char *changes;
    const char *msg;    /* OK_: reads back */
} hcase;

#define CREATE(cust) "{\"amount\":1200000,\"currency\":\"CNY\",\"customer\":\"" cust "\",\"owner\":\"ravi\"}"
#define CUR(cur) "{\"amount\":1,\"currency\":" cur ",\"customer\":\"A\",\"owner\":\"r\"}"
#define ATTRS(body) "{\"attrs\":" body "}"

static const hcase cases[] = {
    /* \u escapes as json_text.c decodes them */
    { 1, CREATE("\\u00C9\\u00e9\\uE000\\uFFFF"), OK_ },
    { 1, CREATE("\\ud83d\\ude00"), OK_ },
    { 1, CREATE("\\uDC00"), "history version 1: changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\uD83Dx"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\uD83D\\n"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\uD83D\\uZZZZ"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\uD83D\\uE000"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\uD83D\\uDBFF"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\u00G0"), "changes: not a valid JSON object (byte 46)" },
    { 1, CREATE("\\x"), "changes: not a valid JSON object (byte 46)" },
    /* member names written with escapes */
    { 1, "{\"\\u0061mount\":1,\"c\\u0075rrency\":\"CNY\",\"customer\":\"A\",\"own\\u0065r\":\"r\"}", OK_ },
    { 1, "{\"\\u0061mountx\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes: unknown member at byte 1" },
    { 1, "{\"\\u00e9\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes: unknown member at byte 1" },
    { 1, "{\"amoun\\u0074\":1,\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}",
      "changes: member 'amount' appears twice" },
    /* currencies, plain and escaped */
    { 1, CUR("\"\\u0043N\\u0059\""), OK_ },
    { 1, CUR("\"\\u0043NYX\""), "history version 1: changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"\\u0063ny\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"C\\u004e\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"CnY\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"CNy\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"C[Y\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("\"CN\""), "changes.currency: not an ISO 4217 code" },
    { 1, CUR("null"), OK_ },
    { 1, CUR("7"), "changes.currency: expected a string or null" },
    /* numbers */
    { 1, "{\"amount\":01,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes.amount: expected an integer" },
    { 1, "{\"amount\":0,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", OK_ },
    { 1, "{\"amount\":-0,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", OK_ },
    { 1, "{\"amount\":1e3,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", OK_ },
    { 1, "{\"amount\":1.5,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes.amount: expected an integer" },
    { 1, "{\"amount\":1e400,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes.amount: expected an integer" },
    { 1, "{\"amount\":9007199254740992e0,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}",
      "changes.amount: expected an integer in 0..9007199254740991" },
    { 1, "{\"amount\":-1e0,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes.amount: expected an integer" },
    { 1, "{\"amount\":x,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}", "changes.amount: expected an integer" },
    { 1, "{ }", "history version 1: changes: missing 'amount', though fields names 'amount'" },
    { 1, "{\"amount\" 1}", "changes: not a valid JSON object (byte 10)" },
    { 1, "{\"amount\":1 \"currency\":1}", "changes: not a valid JSON object (byte 12)" },
    { 1, "{amount:1}", "changes: not a valid JSON object (byte 1)" },
    /* attribute objects */
    { 2, ATTRS("{}"), OK_ },
    { 2, ATTRS("{ \"a\" : \"1\" , \"b\" : \"\" }"), OK_ },
    { 2, ATTRS("{1:\"a\"}"), "history version 2: changes: not a valid JSON object (byte 10)" },
    { 2, ATTRS("{\"\\uDC00\":\"a\"}"), "changes: not a valid JSON object (byte 10)" },
    { 2, ATTRS("{\"a\" \"b\"}"), "changes: not a valid JSON object (byte 14)" },
    { 2, ATTRS("{\"a\":\"\\uDC00\"}"), "changes: not a valid JSON object (byte 14)" },
    { 2, ATTRS("{\"a\":\"b\" \"c\"}"), "changes: not a valid JSON object (byte 18)" },
    { 2, ATTRS("{\"a\":\"1\",\"b\":\"2\""), "changes: not a valid JSON object (byte 26)" },
    { 2, ATTRS("{\"\xc3\xa9\":\"1\",\"\\u00e9\":\"2\"}"), "history version 2: changes.attrs: key 1 repeats key 0" },
    { 2, ATTRS("{\"\xf0\x9f\x98\x80\":\"1\",\"\\ud83d\\ude00\":\"2\"}"), "changes.attrs: key 1 repeats key 0" },
    { 2, ATTRS("{\"\xe2\x82\xac\":\"1\",\"\\u20ac\":\"2\"}"), "changes.attrs: key 1 repeats key 0" },
    { 2, ATTRS("{\"a\\n\":\"1\",\"a\\u000a\":\"2\"}"), "changes.attrs: key 1 repeats key 0" },
    { 2, ATTRS("{\"a\\n\":\"1\",\"a\\t\":\"2\"}"), OK_ },
    { 2, ATTRS("{\"ab\":\"1\",\"a\\u00e9\":\"2\"}"), OK_ },
};

static int count_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    ++*(size_t *)ud;
    return 0;
}

static void plant_changes(const char *path, int version, const char *changes)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE history SET changes = ?1 WHERE opp_id = 'o1' AND version = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, changes, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The opportunity and history rows as text, to show a read changed nothing. */
static char *dump(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT group_concat(quote(version) || quote(stage), ',') FROM opp)"
                                            " || group_concat(quote(version) || quote(changes), ',') FROM history",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *s = strdup((const char *)sqlite3_column_text(st, 0));
    assert_non_null(s);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

static fixture *world(void)
{
    fixture *f = fixture_new();
    sfsm_opp *o = fixture_opp(f, "o1", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "region", "north"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
    return f;
}

static void run_case(const char *changes, int version, const char *msg)
{
    fixture *f = world();
    plant_changes(f->path, version, changes);
    char *before = dump(f->path);
    size_t n = 0;
    int rc = sfsm_opp_history(f->engine, "o1", count_cb, &n);
    if (msg == OK_) {
        if (rc != SFSM_OK)
            fail_msg("%s: %s", changes, sfsm_errmsg());
        assert_int_equal(n, 2);
    } else {
        if (rc != SFSM_ESTORAGE)
            fail_msg("%s: rc %d, expected ESTORAGE with \"%s\"", changes, rc, msg);
        assert_msg_has("stored opportunity 'o1': ");
        assert_msg_has(msg);
        assert_int_equal(n, (size_t)version - 1);
    }
    assert_same_and_free(dump(f->path), before);
    free(before);
    fixture_free(f);
}

static void changes_text(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        run_case(cases[k].changes, cases[k].version, cases[k].msg);
}

/* Limits: a key of 65 bytes, a value and a text of 4097, 257 attributes. */
static void changes_limits(void **state)
{
    (void)state;
    char *doc = malloc(16384);
    assert_non_null(doc);
    char big[SFSM_MAX_TEXT + 2];
    memset(big, 'v', SFSM_MAX_TEXT + 1);
    big[SFSM_MAX_TEXT + 1] = '\0';

    snprintf(doc, 16384, ATTRS("{\"%0*d\":\"1\"}"), SFSM_MAX_NAME + 1, 0);
    run_case(doc, 2, "history version 2: changes.attrs: key 0 is longer than 128 bytes");
    snprintf(doc, 16384, ATTRS("{\"a\":\"%s\"}"), big);
    run_case(doc, 2, "changes.attrs: the value of key 0 is longer than 4096 bytes");
    snprintf(doc, 16384, CREATE("%s"), big);
    run_case(doc, 1, "history version 1: changes.customer: longer than 4096 bytes");
    big[SFSM_MAX_TEXT] = '\0';
    snprintf(doc, 16384, CREATE("%s"), big);
    run_case(doc, 1, OK_);

    int n = snprintf(doc, 16384, "{\"attrs\":{");
    for (int i = 0; i < SFSM_MAX_ATTRS + 1; i++)
        n += snprintf(doc + n, 16384 - (size_t)n, "%s\"k%03d\":\"v\"", i ? "," : "", i);
    snprintf(doc + n, 16384 - (size_t)n, "}}");
    run_case(doc, 2, "history version 2: changes.attrs: more than the 256 attributes allowed");
    free(doc);
}

/* The pipeline report's amount of currency CNY at as_of (opportunities
 * whose history goes past it are replayed from their changes). */
static int64_t amount_at(sfsm_engine *e, int64_t as_of, int *rc)
{
    sfsm_report_filter flt;
    assert_int_equal(sfsm_report_filter_init(&flt, SFSM_REPORT_FILTER_VERSION), SFSM_OK);
    flt.as_of_ms = as_of;
    sfsm_report *r = NULL;
    if ((*rc = sfsm_report_pipeline(e, &flt, &r)) != SFSM_OK)
        return -1;
    size_t cur, amt;
    assert_int_equal(sfsm_report_column(r, "currency", &cur), SFSM_OK);
    assert_int_equal(sfsm_report_column(r, "amount", &amt), SFSM_OK);
    int64_t sum = 0;
    for (size_t k = 0; k < sfsm_report_row_count(r); k++)
        if (!sfsm_report_is_null(r, k, cur) && strcmp(sfsm_report_text(r, k, cur), "CNY") == 0)
            sum += sfsm_report_int(r, k, amt);
    sfsm_report_free(r);
    return sum;
}

/* A number in stored changes is its value when that is an exact integer in
 * range, whatever its notation (as the import reads it): the history reads,
 * an as-of report replays the value, the export writes the integer and the
 * document imports back to the same export. Other numbers fail all three. */
static void changes_numbers(void **state)
{
    (void)state;
    static const char *const same[] = { "1e4", "10000.0", "1.5e4", "1E+4", "100000e-1", "0.01e6" };
    static const int64_t value[] = { 10000, 10000, 15000, 10000, 10000, 10000 };
    static const char *const refused[] = { "1.5", "1e400", "1e-400", "10000.5", "-1e4" };
    char doc[256];
    for (size_t k = 0; k < sizeof same / sizeof same[0] + sizeof refused / sizeof refused[0]; k++) {
        int ok = k < sizeof same / sizeof same[0];
        const char *num = ok ? same[k] : refused[k - sizeof same / sizeof same[0]];
        fixture *f = fixture_new();
        sfsm_opp *o = fixture_opp(f, "o1", NULL);
        f->now += DAY_MS;   /* a later change of amount: an as_of before it replays the create */
        assert_int_equal(sfsm_opp_set_amount(o, 7, "CNY"), SFSM_OK);
        assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
        sfsm_opp_free(o);
        snprintf(doc, sizeof doc, "{\"amount\":%s,\"currency\":\"CNY\",\"customer\":\"Acme Ltd\",\"owner\":\"ravi\"}",
                 num);
        plant_changes(f->path, 1, doc);

        size_t n = 0;
        int rc = sfsm_opp_history(f->engine, "o1", count_cb, &n), rrc;
        if (!ok) {
            if (rc != SFSM_ESTORAGE)
                fail_msg("%s: history rc %d", num, rc);
            assert_msg_has("history version 1: changes.amount: expected an integer");
            amount_at(f->engine, T0_MS + 1, &rrc);
            assert_int_equal(rrc, SFSM_ESTORAGE);
            assert_msg_has("history version 1: changes.amount: expected an integer");
            char *out = (char *)1;
            assert_int_equal(sfsm_export_json_string(f->engine, NULL, &out, NULL), SFSM_ESTORAGE);
            assert_null(out);
            assert_msg_has("opportunity 'o1'");
            assert_msg_has("opportunities[0].history[0].changes.amount");
            fixture_free(f);
            continue;
        }
        int64_t at = amount_at(f->engine, T0_MS + 1, &rrc);
        char *out = NULL;
        int erc = sfsm_export_json_string(f->engine, NULL, &out, NULL);
        if (rc != SFSM_OK)
            fail_msg("%s: %s", num, sfsm_errmsg());
        assert_int_equal(n, 2);
        assert_int_equal(rrc, SFSM_OK);
        assert_int_equal(at, value[k]);
        assert_int_equal(amount_at(f->engine, 0, &rrc), 7);
        if (erc != SFSM_OK)
            fail_msg("%s: export: %s", num, sfsm_errmsg());
        snprintf(doc, sizeof doc, "\"changes\": {\"amount\":%lld,\"currency\":\"CNY\"", (long long)value[k]);
        assert_non_null(strstr(out, doc));
        assert_null(strstr(out, num));

        fixture *g = fixture_new();
        size_t count = 0;
        assert_int_equal(sfsm_import_json(g->engine, out, strlen(out), &count), SFSM_OK);
        assert_int_equal(count, 1);
        char *again = NULL;
        assert_int_equal(sfsm_export_json_string(g->engine, NULL, &again, NULL), SFSM_OK);
        assert_string_equal(again, out);
        sfsm_free(again);
        sfsm_free(out);
        fixture_free(g);
        fixture_free(f);
    }
}

static void plant_sql(const char *path, const char *sql)
{
    assert_int_equal(exec_changed(path, sql), 1);
}

/* What the export refuses is named one way, from the load checks' fault:
 * the opportunity, the history version, the member and what is wrong, and
 * the JSON path the import would refuse; nothing is written. */
static void export_faults(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *msg;
    } faults[] = {
        { "UPDATE history SET note = CAST(X'6261642028c328' AS TEXT) WHERE version = 2",
          "opportunity 'o1', history version 2: stored note is not valid UTF-8 (byte 5) "
          "(the import would refuse opportunities[0].history[1].note)" },
        { "UPDATE opp SET customer = CAST(X'41ff' AS TEXT)",
          "opportunity 'o1': stored customer is not valid UTF-8 (byte 1) "
          "(the import would refuse opportunities[0].customer)" },
        { "UPDATE history SET kind = 9 WHERE version = 2",
          "opportunity 'o1', history version 2: stored kind: unknown kind 9 (create 1, transition 2, update 3, "
          "migrate 4) (the import would refuse opportunities[0].history[1].kind)" },
        { "UPDATE history SET fields = 96 WHERE version = 2",
          "opportunity 'o1', history version 2: stored fields: unknown field bits 0x40 "
          "(the import would refuse opportunities[0].history[1].fields)" },
        { "UPDATE history SET changes = 'x' WHERE version = 1",
          "opportunity 'o1', history version 1: stored changes: not a valid JSON object (byte 0) "
          "(the import would refuse opportunities[0].history[0].changes)" },
        { "UPDATE history SET changes = '{\"amount\":1.5,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}' "
          "WHERE version = 1",
          "opportunity 'o1', history version 1: stored changes.amount: expected an integer in 0..9007199254740991 "
          "(the import would refuse opportunities[0].history[0].changes.amount)" },
        { "UPDATE opp SET stage = 'a: history version 3: b'",
          "opportunity 'o1': stored stage: 'a: history version 3: b' is not a stage of pipeline 'default' "
          "(the import would refuse opportunities[0].stage)" },
    };
    for (size_t k = 0; k < sizeof faults / sizeof faults[0]; k++) {
        fixture *f = world();
        plant_sql(f->path, faults[k].sql);
        char *out = (char *)1;
        int rc = sfsm_export_json_string(f->engine, NULL, &out, NULL);
        if (rc != SFSM_ESTORAGE || strcmp(sfsm_errmsg(), faults[k].msg) != 0)
            fail_msg("%s: rc %d\n  got  %s\n  want %s", faults[k].sql, rc, sfsm_errmsg(), faults[k].msg);
        assert_null(out);
        fixture_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_text),
        cmocka_unit_test(changes_limits),
        cmocka_unit_test(changes_numbers),
        cmocka_unit_test(export_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
