/* Stored payments that add up beyond 64 bits (each is at most 2^53-1, so
 * about 1024 of them, which only damage or another program can store) are
 * SFSM_ESTORAGE naming the opportunity, for a payment and for a new amount
 * on the deal alike; nothing changes.
 *
 * On SQLite the rows are inserted through a second connection to the file;
 * on the memory run a mini_store (mini_store.h) hands them back. */
#include <stdio.h>
#include <sqlite3.h>

#include <salesfsm/sys/store.h>

#include "mini_store.h"
#include "testutil.h"

#define SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */
#define MANY 1100                          /* 1025 of 2^53-1 pass INT64_MAX */

/* ==== a mini_store whose payments are MANY of 2^53-1 ==== */

static int many_payment_add(void *v, const sfsm_payment *p)
{
    (void)v;
    (void)p;
    fail_msg("no payment may be added to a deal whose payments are damage");
    return SFSM_ESTORAGE;
}

/* MANY payments of 2^53-1 for each stored opportunity, in its currency. */
static int many_payment_scan(void *v, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    mini_store *m = v;
    for (size_t k = 0; k < m->nrec; k++) {
        const sfsm_record *r = &m->rec[k];
        if (opp_id && strcmp(opp_id, r->id) != 0)
            continue;
        for (uint64_t seq = 1; seq <= MANY; seq++) {
            sfsm_payment p = { r->id, seq, SAFE_MAX, r->currency, T0_MS, NULL };
            int rc = cb(&p, ud);
            if (rc)
                return rc;
        }
    }
    return SFSM_OK;
}

/* ==== the world ==== */

typedef struct world {
    fixture *f;
    mini_store *m;   /* NULL on SQLite */
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    sfsm_store_ops ops = mini_store_ops;
    ops.payment_add = many_payment_add;
    ops.payment_scan = many_payment_scan;
    w->f = mini_fixture_new(&ops, &w->m);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fixture_free(w->f);
    free(w);
    return 0;
}

/* On SQLite: MANY payments of 2^53-1 for `id`, as another program would
 * write them. */
static void sql_plant_payments(world *w, const char *id, const char *currency)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(w->f->path, &db), SQLITE_OK);
    const char *sql = "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?3) "
                      "INSERT INTO payment (opp_id, seq, amount, currency, at_ms, note) "
                      "SELECT ?1, seq, ?4, ?2, ?5, NULL FROM n";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, MANY);
    sqlite3_bind_int64(st, 4, SAFE_MAX);
    sqlite3_bind_int64(st, 5, T0_MS);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), MANY);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A won deal of the largest amount, with MANY payments of it stored. */
static sfsm_opp *overpaid_deal(world *w)
{
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "big";
    opts.customer = "Acme";
    opts.amount = SAFE_MAX;
    opts.currency = "JPY";
    assert_int_equal(sfsm_opp_create_ext(w->f->engine, &opts, &o), SFSM_OK);
    const char *walk[] = { "qualify", "quote", "negotiate", "sign" };
    for (size_t i = 0; i < 4; i++)
        if (sfsm_fire(w->f->engine, o, walk[i], &MANAGER, NULL))
            fail_msg("sfsm_fire(%s): %s", walk[i], sfsm_errmsg());
    if (!w->m)
        sql_plant_payments(w, "big", "JPY");
    return o;
}

/* The stored deal and its number of history entries. */
static char *stored(world *w)
{
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(w->f->engine, "big", &o), SFSM_OK);
    char *d = opp_describe(o);
    sfsm_opp_free(o);
    size_t n = strlen(d) + 32;
    char *all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s history=%llu", d,
             (unsigned long long)history_count(w->f->engine, "big"));
    free(d);
    return all;
}

static void assert_overflow_named(int rc)
{
    assert_int_equal(rc, SFSM_ESTORAGE);
    assert_msg_has("'big'");
    assert_msg_has("beyond 64 bits");
}

/* A new amount on the deal: its payments are read to compare, and their
 * sum overflows. */
static void test_new_amount_is_estorage(void **state)
{
    world *w = *state;
    sfsm_engine *e = w->f->engine;
    sfsm_opp *o = overpaid_deal(w);
    char *before = stored(w);
    assert_int_equal(sfsm_opp_set_amount(o, SAFE_MAX - 1, "JPY"), SFSM_OK);
    assert_overflow_named(sfsm_opp_save(e, o));
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_AMOUNT);
    assert_overflow_named(sfsm_fire(e, o, "deliver", &ASSISTANT, NULL));
    assert_string_equal(sfsm_opp_stage(o), "signed");
    /* inside a batch alike */
    assert_int_equal(sfsm_engine_begin(e), SFSM_OK);
    assert_overflow_named(sfsm_opp_save(e, o));
    assert_int_equal(sfsm_engine_rollback(e), SFSM_OK);
    assert_same_and_free(stored(w), before);
    free(before);
    /* a save that leaves the amount alone does not read the payments */
    assert_int_equal(sfsm_opp_set_amount(o, SAFE_MAX, "JPY"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "renewal"), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(e, "big", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "renewal"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    sfsm_opp_free(o);
}

/* A payment: the same sum, the same error (check_payment). */
static void test_payment_is_estorage(void **state)
{
    world *w = *state;
    sfsm_engine *e = w->f->engine;
    sfsm_opp *o = overpaid_deal(w);
    char *before = stored(w);
    assert_overflow_named(sfsm_payment_add(e, "big", 1, "JPY", NULL));
    assert_same_and_free(stored(w), before);
    free(before);
    sfsm_opp_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_amount_is_estorage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_is_estorage, setup, teardown),
    };
    return cmocka_run_group_tests_name("payment_sum", tests, NULL, NULL);
}
