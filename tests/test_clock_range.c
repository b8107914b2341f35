/* Every time the library stores reads back: a clock outside
 * -(2^53-1)..2^53-1 ms, or an expected close above 2^53-1, is refused on the
 * way in (SFSM_EINVAL naming the value and the range, nothing stored),
 * instead of being written and then read back as damage. At the limits
 * themselves every write succeeds and the record opens again. */
#include <stdio.h>

#include "testutil.h"
#include "deals_versions.h"

#define SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */
#define FAR INT64_C(4611686018427387904)   /* 2^62 */

static int payment_cb(const sfsm_payment *p, void *ud)
{
    char *s = ud;
    size_t n = strlen(s);
    snprintf(s + n, 1024 - n, "%llu:%lld:%lld;", (unsigned long long)p->seq, (long long)p->amount,
             (long long)p->at_ms);
    return 0;
}

/* The payments of a deal as one string; out holds 1024 bytes. */
static const char *payments(fixture *f, const char *id, char *out)
{
    out[0] = '\0';
    if (sfsm_payment_list(f->engine, id, payment_cb, out))
        fail_msg("sfsm_payment_list: %s", sfsm_errmsg());
    return out;
}

/* The stored record, its history and its payments, as one string. */
static char *everything(fixture *f, const sfsm_opp *o)
{
    char pay[1024];
    char *state = opp_state(f->engine, o);
    payments(f, sfsm_opp_id(o), pay);
    size_t n = strlen(state) + strlen(pay) + 2;
    char *all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s|%s", state, pay);
    free(state);
    return all;
}

/* EINVAL naming the clock's value and the range. */
static void assert_clock_refused(int rc, int64_t at)
{
    char value[32];
    snprintf(value, sizeof value, "%lld", (long long)at);
    assert_int_equal(rc, SFSM_EINVAL);
    assert_msg_has("clock");
    assert_msg_has(value);
    assert_msg_has("9007199254740991");
}

/* The writes of the default pipeline with the clock at `at`. */
static void refused_at(fixture *f, int64_t at)
{
    sfsm_engine *e = f->engine;
    sfsm_opp *signed_ = fixture_opp(f, "signed", "qualify", "quote", "negotiate", "sign", NULL);
    sfsm_opp *lead = fixture_opp(f, "lead", NULL);
    assert_int_equal(sfsm_payment_add(e, "signed", 100, sfsm_opp_currency(signed_), NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(lead, "renewal"), SFSM_OK);
    char *was_signed = everything(f, signed_), *was_lead = everything(f, lead);
    size_t opps = count_opps(e, NULL);
    f->now = at;

    sfsm_opp *o = (sfsm_opp *)f;
    assert_clock_refused(sfsm_opp_create(e, "new", &o), at);
    assert_null(o);
    assert_int_equal(sfsm_opp_open(e, "new", &o), SFSM_ENOTFOUND);
    assert_clock_refused(sfsm_opp_save(e, lead), at);
    assert_int_equal(sfsm_opp_unsaved(lead), SFSM_FIELD_TITLE);   /* still to be saved */
    assert_clock_refused(sfsm_fire(e, signed_, "deliver", &ASSISTANT, NULL), at);
    assert_string_equal(sfsm_opp_stage(signed_), "signed");
    assert_clock_refused(sfsm_payment_add(e, "signed", 1, sfsm_opp_currency(signed_), NULL), at);
    /* inside a batch alike, and the batch still commits what came before */
    assert_int_equal(sfsm_engine_begin(e), SFSM_OK);
    assert_clock_refused(sfsm_fire(e, lead, "qualify", &MANAGER, NULL), at);
    assert_int_equal(sfsm_engine_commit(e), SFSM_OK);

    assert_same_and_free(everything(f, signed_), was_signed);
    assert_same_and_free(everything(f, lead), was_lead);
    assert_int_equal(count_opps(e, NULL), opps);
    free(was_signed);
    free(was_lead);
    sfsm_opp_free(signed_);
    sfsm_opp_free(lead);
}

static void test_far_future_clock(void **state)
{
    refused_at(*state, FAR);
}

static void test_far_past_clock(void **state)
{
    refused_at(*state, -FAR);
}

static void test_one_past_the_limit(void **state)
{
    refused_at(*state, SAFE_MAX + 1);
}

static void test_one_before_the_limit(void **state)
{
    refused_at(*state, -SAFE_MAX - 1);
}

/* At exactly the limit everything is stored, and reads back. */
static void stored_at(fixture *f, int64_t at)
{
    sfsm_engine *e = f->engine;
    f->now = at;
    sfsm_opp *o = fixture_opp(f, "edge", "qualify", "quote", "negotiate", "sign", NULL);
    assert_int_equal(sfsm_opp_set_title(o, "at the edge"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    assert_int_equal(sfsm_payment_add(e, "edge", 100, sfsm_opp_currency(o), NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o, "deliver", &ASSISTANT, NULL), SFSM_OK);
    sfsm_opp_free(o);

    o = NULL;
    if (sfsm_opp_open(e, "edge", &o))
        fail_msg("sfsm_opp_open: %s", sfsm_errmsg());
    assert_int_equal(sfsm_opp_created(o), at);
    assert_int_equal(sfsm_opp_updated(o), at);
    assert_int_equal(sfsm_opp_stage_entered(o), at);
    assert_string_equal(sfsm_opp_stage(o), "delivered");
    last_entry l;
    read_last(f, "edge", &l);   /* every entry passes the history checks */
    assert_int_equal(l.count, 7);
    assert_int_equal(l.at_ms, at);
    char pay[1024], want[64];
    snprintf(want, sizeof want, "1:100:%lld;", (long long)at);
    assert_string_equal(payments(f, "edge", pay), want);
    assert_int_equal(count_opps(e, NULL), 1);
    sfsm_opp_free(o);
}

static void test_clock_at_the_upper_limit(void **state)
{
    stored_at(*state, SAFE_MAX);
}

static void test_clock_at_the_lower_limit(void **state)
{
    stored_at(*state, -SAFE_MAX);
}

/* ---- migration: the migrate entries are stamped too ---- */

typedef struct world {
    sfsm_pipeline *v1, *v2;
    sfsm_store *store;
    char path[256];
    int64_t now;
} world;

static int64_t world_clock(void *ud)
{
    return ((world *)ud)->now;
}

static sfsm_engine *engine(world *w, const sfsm_pipeline *p)
{
    sfsm_engine *e = NULL;
    if (sfsm_engine_new(&e, p, w->store))
        fail_msg("sfsm_engine_new: %s", sfsm_errmsg());
    assert_int_equal(sfsm_engine_set_clock(e, world_clock, w), SFSM_OK);
    return e;
}

/* Under version 1: a at lead, b at review (version 2 maps it to qualified). */
static int world_setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->now = T0_MS;
    w->v1 = deals_load(DEALS_V1);
    w->v2 = deals_load(DEALS_V2);
    test_store_open(&w->store, w->path);
    sfsm_engine *e = engine(w, w->v1);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(e, "a", &o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_create(e, "b", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o, "review", &SELLER, NULL), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world *w = *state;
    sfsm_store_close(w->store);
    test_store_remove(w->path);
    sfsm_pipeline_free(w->v1);
    sfsm_pipeline_free(w->v2);
    free(w);
    return 0;
}

static void test_migrate_far_future_is_refused(void **state)
{
    world *w = *state;
    sfsm_engine *old = engine(w, w->v1);   /* reads the records as they were stored */
    sfsm_engine *e = engine(w, w->v2);
    char *was_a = opp_stored(old, "a"), *was_b = opp_stored(old, "b");
    w->now = FAR;
    size_t moved = 99;
    assert_clock_refused(sfsm_engine_migrate(e, &SELLER, NULL, NULL, &moved), FAR);
    assert_int_equal(moved, 0);
    assert_same_and_free(opp_stored(old, "a"), was_a);
    assert_same_and_free(opp_stored(old, "b"), was_b);
    sfsm_engine_free(old);
    /* at the limit it moves, and what it stored opens again */
    w->now = SAFE_MAX;
    assert_int_equal(sfsm_engine_migrate(e, &SELLER, NULL, NULL, &moved), SFSM_OK);
    assert_int_equal(moved, 2);
    sfsm_opp *o = NULL;
    if (sfsm_opp_open(e, "b", &o))
        fail_msg("sfsm_opp_open: %s", sfsm_errmsg());
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_updated(o), SAFE_MAX);
    assert_int_equal(history_count(e, "b"), 3);
    sfsm_opp_free(o);
    free(was_a);
    free(was_b);
    sfsm_engine_free(e);
}

/* ---- the expected close ---- */

static void test_expected_close_limit(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "x", NULL);
    assert_int_equal(sfsm_opp_set_expected_close(o, T0_MS), SFSM_OK);
    char *before = opp_describe(o);
    assert_int_equal(sfsm_opp_set_expected_close(o, SAFE_MAX + 1), SFSM_EINVAL);
    assert_msg_has("9007199254740992");
    assert_msg_has("9007199254740991");
    assert_msg_has("'x'");
    assert_int_equal(sfsm_opp_set_expected_close(o, INT64_MAX), SFSM_EINVAL);
    assert_same_and_free(opp_describe(o), before);
    free(before);
    /* the save stores what was accepted, not the refused value */
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    sfsm_opp_free(o);

    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "y";
    opts.expected_close_ms = SAFE_MAX + 1;
    o = (sfsm_opp *)f;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_null(o);
    assert_msg_has("9007199254740992");
    assert_int_equal(sfsm_opp_open(e, "y", &o), SFSM_ENOTFOUND);

    /* the limit itself is stored and opens again */
    opts.expected_close_ms = SAFE_MAX;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(e, "x", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_expected_close(o), T0_MS);
    assert_int_equal(sfsm_opp_set_expected_close(o, SAFE_MAX), SFSM_OK);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    sfsm_opp_free(o);
    const char *ids[] = { "x", "y" };
    for (size_t i = 0; i < 2; i++) {
        o = NULL;
        if (sfsm_opp_open(e, ids[i], &o))
            fail_msg("sfsm_opp_open(%s): %s", ids[i], sfsm_errmsg());
        assert_int_equal(sfsm_opp_expected_close(o), SAFE_MAX);
        sfsm_opp_free(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_far_future_clock, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_far_past_clock, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_past_the_limit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_before_the_limit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clock_at_the_upper_limit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clock_at_the_lower_limit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_far_future_is_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_expected_close_limit, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("clock_range", tests, NULL, NULL);
}
