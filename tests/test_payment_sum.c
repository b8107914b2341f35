/* Stored payments that add up beyond 64 bits (each is at most 2^53-1, so
 * about 1024 of them, which only damage or another program can store) are
 * SFSM_ESTORAGE naming the opportunity, for a payment and for a new amount
 * on the deal alike; nothing changes.
 *
 * On SQLite the rows are inserted through a second connection to the file;
 * on the memory run a small backend of this file hands them back. */
#include <stdio.h>
#include <sqlite3.h>

#include <salesfsm/sys/store.h>

#include "testutil.h"

#define SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */
#define MANY 1100                          /* 1025 of 2^53-1 pass INT64_MAX */

/* ==== a backend of one opportunity and MANY payments ==== */

typedef struct one {
    sfsm_record rec;   /* its strings are owned; NULL id: empty */
    uint64_t entries;
} one;

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    assert_non_null(d);
    return strcpy(d, s);
}

static void one_clear(one *b)
{
    char **owned[] = { (char **)&b->rec.id,       (char **)&b->rec.stage, (char **)&b->rec.currency,
                       (char **)&b->rec.customer, (char **)&b->rec.owner, (char **)&b->rec.title,
                       (char **)&b->rec.pipeline };
    for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++) {
        free(*owned[k]);
        *owned[k] = NULL;
    }
}

static void one_close(void *b)
{
    one_clear(b);
    free(b);
}

static int one_ok(void *b)
{
    (void)b;
    return SFSM_OK;
}

static int one_get(void *v, const char *id, sfsm_record *out)
{
    one *b = v;
    if (!b->rec.id || strcmp(b->rec.id, id) != 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "'%s' not found", id);
    *out = b->rec;
    return SFSM_OK;
}

static int one_put(void *v, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    (void)changed;   /* every field is written */
    one *b = v;
    if (expected == 0 && b->rec.id)
        return sfsm_error_set(SFSM_EEXISTS, "this backend holds one opportunity");
    if (expected && (!b->rec.id || strcmp(b->rec.id, r->id) != 0 || b->rec.version != expected))
        return sfsm_error_set(SFSM_ECONFLICT, "'%s' changed", r->id);
    one_clear(b);
    b->rec = *r;
    b->rec.id = dup_or_null(r->id);
    b->rec.stage = dup_or_null(r->stage);
    b->rec.currency = dup_or_null(r->currency);
    b->rec.customer = dup_or_null(r->customer);
    b->rec.owner = dup_or_null(r->owner);
    b->rec.title = dup_or_null(r->title);
    b->rec.pipeline = dup_or_null(r->pipeline);
    b->rec.attrs = NULL;
    b->rec.attr_count = 0;   /* the test sets none */
    return SFSM_OK;
}

static int one_append(void *v, const char *id, const sfsm_history_entry *h)
{
    (void)id;
    (void)h;
    ((one *)v)->entries++;
    return SFSM_OK;
}

static int one_read(void *v, const char *id, sfsm_history_cb cb, void *ud)
{
    (void)cb;
    (void)ud;
    one *b = v;
    if (!b->rec.id || strcmp(b->rec.id, id) != 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "'%s' not found", id);
    return SFSM_OK;   /* entries are counted, not kept */
}

static int one_scan(void *v, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    (void)f;
    one *b = v;
    return b->rec.id ? cb(&b->rec, ud) : SFSM_OK;
}

static int one_team_put(void *v, const char *owner, const char *team)
{
    (void)v;
    (void)owner;
    (void)team;
    return SFSM_OK;
}

static int one_team_scan(void *v, const char *team, sfsm_team_cb cb, void *ud)
{
    (void)v;
    (void)team;
    (void)cb;
    (void)ud;
    return SFSM_OK;
}

static int one_target_put(void *v, const sfsm_target *t)
{
    (void)v;
    (void)t;
    return SFSM_OK;
}

static int one_target_scan(void *v, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                           void *ud)
{
    (void)v;
    (void)kind;
    (void)subject;
    (void)year;
    (void)cb;
    (void)ud;
    return SFSM_OK;
}

static int one_payment_add(void *v, const sfsm_payment *p)
{
    (void)v;
    (void)p;
    fail_msg("no payment may be added to a deal whose payments are damage");
    return SFSM_ESTORAGE;
}

/* MANY payments of 2^53-1 in the opportunity's currency. */
static int one_payment_scan(void *v, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    one *b = v;
    if (!b->rec.id || (opp_id && strcmp(opp_id, b->rec.id) != 0))
        return SFSM_OK;
    for (uint64_t seq = 1; seq <= MANY; seq++) {
        sfsm_payment p = { b->rec.id, seq, SAFE_MAX, b->rec.currency, T0_MS, NULL };
        int rc = cb(&p, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static const sfsm_store_ops ONE_OPS = {
    .version = 3, .close = one_close, .begin = one_ok, .commit = one_ok, .rollback = one_ok, .get = one_get,
    .put = one_put, .append_history = one_append, .read_history = one_read, .scan = one_scan,
    .team_put = one_team_put, .team_scan = one_team_scan, .target_put = one_target_put,
    .target_scan = one_target_scan, .payment_add = one_payment_add, .payment_scan = one_payment_scan,
};

/* ==== the world ==== */

typedef struct world {
    fixture *f;
    one *b;   /* NULL on SQLite */
} world;

static int64_t world_clock(void *ud)
{
    return ((fixture *)ud)->now;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    const char *which = getenv("SFSM_TEST_STORE");
    if (which && strcmp(which, "sqlite") == 0) {
        w->f = fixture_new();
    } else {
        fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        f->now = T0_MS;
        w->b = calloc(1, sizeof *w->b);
        assert_non_null(w->b);
        assert_int_equal(sfsm_pipeline_default(&f->pipeline), SFSM_OK);
        assert_int_equal(sfsm_store_new(&f->store, &ONE_OPS, w->b), SFSM_OK);
        assert_int_equal(sfsm_engine_new(&f->engine, f->pipeline, f->store), SFSM_OK);
        assert_int_equal(sfsm_engine_set_clock(f->engine, world_clock, f), SFSM_OK);
        w->f = f;
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fixture_free(w->f);   /* closes the store, which frees the backend */
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
    if (!w->b)
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
             (unsigned long long)(w->b ? w->b->entries : history_count(w->f->engine, "big")));
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
